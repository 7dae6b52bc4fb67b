/**
 * PikPak's own token endpoints, answered from the broker: `POST /v1/auth/token` (refresh) and
 * `POST /v1/auth/signin`, in PikPak's JSON shapes (shared/PIKPAK.md), so that AList's PikPak
 * driver can be pointed at the broker and never holds a real refresh token or password.
 *
 * Transport-independent: the token service calls this for its own routes, and the AList bridge
 * calls the same function for the calls it intercepts on user.mypikpak.com/.net. The caller
 * checks the method (POST) and the body size; this function does the rest.
 *
 * Credentials. A client secret stands in for the refresh token (`refresh_token`) or for the
 * password (`password`); an `Authorization: Bearer` secret is accepted when the body has none.
 * The answer's `refresh_token` is the surrogate `<client secret>.<account>`: stable for one
 * client and account, it authenticates the client again on the next refresh and names the account,
 * so a client scoped to several accounts works too. It is as secret as the client secret (it
 * contains it) and dies with it when the client is revoked. The admin credential is not accepted
 * here: it must never end up in another program's database.
 *
 * Failures use PikPak's error shape. Anything that needs a person (unknown or revoked secret,
 * account not allowed, account needing a new sign-in in the broker) is `invalid_grant` / 4126,
 * which makes AList stop (or try a sign-in, which fails the same way) instead of looping.
 *
 * Through the AList bridge the proxy credentials are a client secret too (`transportSecret`): they
 * stand in when the call carries no credential of its own; a wrong one in the call is still
 * refused (invalid_grant), so a storage holding a stale secret is told so instead of papered over.
 */
import type { Broker } from '../core/broker.js';
import { AccountNotFoundError } from '../core/broker-errors.js';
import type { AccessTokenView } from '../core/keeper.js';
import { ReauthRequiredError, SignedOutError, UpstreamUnavailableError } from '../core/keeper-errors.js';
import type { Logger } from '../core/ports.js';
import {
  ERROR_CODES,
  PATHS,
  presetByClientId,
  type ErrorResponseBody,
  type TokenResponseBody,
} from '../pikpak/protocol.js';
import { digestOf } from './bearer.js';
import { ClientRegistry, type Client } from './client-registry.js';
import { secondsLeft } from './json-view.js';
import { isFormType, isJsonType, parseForm, type JsonObject } from './request-body.js';

export interface PikPakAuthCall {
  /** The request path; a query string, if any, is read as `query`. */
  readonly path: string;
  readonly contentType: string | undefined;
  readonly rawBody: Buffer | string;
  /** The query string (without `?`) or its parsed form; `client_id` may come this way. */
  readonly query?: string | URLSearchParams | undefined;
  /** The value of an `Authorization: Bearer` header, if the caller sent one. */
  readonly bearer?: string | undefined;
  /**
   * A client secret the transport already checked (the AList bridge's proxy credentials): the
   * client when the call carries no credential of its own (an empty refresh token or password).
   * A credential in the call always decides, and a wrong one is refused as before.
   */
  readonly transportSecret?: string | undefined;
}

export interface PikPakAnswer {
  readonly status: number;
  readonly body: TokenResponseBody | ErrorResponseBody;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PikPakCompatDeps {
  readonly broker: Pick<Broker, 'accounts' | 'getAccessToken'>;
  /** Only `authenticateDigest` is used. */
  readonly clients: Pick<ClientRegistry, 'authenticateDigest'>;
  /** When set, the admin credential is recognised so that it can be refused with a clear message. */
  readonly isAdmin?: (digest: Buffer) => boolean;
  readonly now: () => number;
  readonly log: Logger;
}

/** PikPak's codes beyond protocol.ts's (gRPC-style small codes; see e2e/emulator/pikpak-errors.ts). */
export const COMPAT_ERROR_CODES = {
  invalidArgument: 3,
  notFound: 5,
  internal: 13,
  unavailable: 14,
  invalidAccountOrPassword: 4022,
} as const;

const WHO = 'pikpak-token-broker';

function fail(
  status: number,
  error: string,
  code: number,
  description: string,
  headers?: Record<string, string>,
): PikPakAnswer {
  return {
    status,
    body: { error, error_code: code, error_description: description },
    ...(headers ? { headers } : {}),
  };
}

const invalidGrant = (description: string): PikPakAnswer =>
  fail(400, 'invalid_grant', ERROR_CODES.invalidGrant, `${WHO}: ${description}`);

const invalidArgument = (description: string): PikPakAnswer =>
  fail(400, 'invalid_argument', COMPAT_ERROR_CODES.invalidArgument, `${WHO}: ${description}`);

/** Answers one PikPak auth call. Never throws: unexpected failures become a PikPak-shaped 500. */
export async function answerPikPakAuthCall(
  call: PikPakAuthCall,
  deps: PikPakCompatDeps,
): Promise<PikPakAnswer> {
  try {
    const queryAt = call.path.indexOf('?');
    const path = queryAt === -1 ? call.path : call.path.slice(0, queryAt);
    const query = call.query ?? (queryAt === -1 ? undefined : call.path.slice(queryAt + 1));
    if (path !== PATHS.token && path !== PATHS.signin)
      return fail(
        404,
        'not_found',
        COMPAT_ERROR_CODES.notFound,
        `${WHO} answers only ${PATHS.token} and ${PATHS.signin}`,
      );
    const form = parseBody(call.contentType, call.rawBody);
    if (!form) return invalidArgument('the body must be JSON or application/x-www-form-urlencoded');
    const clientId = str(form.client_id) ?? new URLSearchParams(query ?? '').get('client_id') ?? undefined;
    return path === PATHS.token
      ? await refresh(form, call, clientId, deps)
      : await signIn(form, call, clientId, deps);
  } catch (error) {
    deps.log.error({ error: describeError(error) }, 'the PikPak-compatible endpoint failed');
    return fail(500, 'internal', COMPAT_ERROR_CODES.internal, `${WHO}: internal error; see the broker's log`);
  }
}

async function refresh(
  form: JsonObject,
  call: PikPakAuthCall,
  clientId: string | undefined,
  deps: PikPakCompatDeps,
): Promise<PikPakAnswer> {
  const grantType = str(form.grant_type);
  if (grantType !== 'refresh_token')
    return fail(
      400,
      'unsupported_grant_type',
      COMPAT_ERROR_CODES.invalidArgument,
      `${WHO}: grant_type must be refresh_token`,
    );
  const credential = str(form.refresh_token) ?? call.bearer;
  const who = identifyOrTransport(credential, call.transportSecret, deps);
  if (who === undefined) return invalidArgument('refresh_token is required (a client secret of the broker)');
  if ('status' in who) return who;
  let account = who.account;
  if (account === undefined) {
    const candidates = scopedAccounts(who.client, deps);
    if (candidates.length !== 1)
      return invalidArgument(
        `client "${who.client.name}" may use ${candidates.length === 0 ? 'no existing account' : 'several accounts'}; ` +
          `use "<client secret>.<account>" as the refresh token, or sign in with the account's PikPak username`,
      );
    account = candidates[0]!;
  }
  return answerFor(who.client, who.secret, account, clientId, deps);
}

async function signIn(
  form: JsonObject,
  call: PikPakAuthCall,
  clientId: string | undefined,
  deps: PikPakCompatDeps,
): Promise<PikPakAnswer> {
  const credential = str(form.password) ?? call.bearer;
  const who = identifyOrTransport(credential, call.transportSecret, deps);
  if (who === undefined) return invalidArgument('password is required (a client secret of the broker)');
  if ('status' in who) return who;
  let account = who.account;
  if (account === undefined) {
    const username = str(form.username);
    if (!username) return invalidArgument('username is required');
    const wanted = username.toLowerCase();
    const matches = deps.broker
      .accounts()
      .filter((a) => ClientRegistry.allows(who.client, a.name))
      .filter((a) => a.username.toLowerCase() === wanted || a.name === username);
    if (matches.length === 0)
      return fail(
        400,
        'invalid_account_or_password',
        COMPAT_ERROR_CODES.invalidAccountOrPassword,
        `${WHO}: client "${who.client.name}" has no account with PikPak username "${username.slice(0, 100)}"; ` +
          `sign it in to the broker (pikpak-token-broker login) or give the client access to it`,
      );
    if (matches.length > 1)
      return invalidArgument(
        `several accounts match username "${username.slice(0, 100)}"; use "<client secret>.<account>" as the password`,
      );
    account = matches[0]!.name;
  }
  return answerFor(who.client, who.secret, account, clientId, deps);
}

type Identified = { client: Client; secret: string; account: string | undefined };

/**
 * The call's own credential when it has one (a wrong one is refused, never papered over), else the
 * transport's secret. Undefined when there is neither.
 */
function identifyOrTransport(
  credential: string | undefined,
  transportSecret: string | undefined,
  deps: PikPakCompatDeps,
): Identified | PikPakAnswer | undefined {
  if (credential !== undefined) return identify(credential, deps);
  if (transportSecret === undefined) return undefined;
  const viaTransport = identify(transportSecret, deps);
  return 'status' in viaTransport ? viaTransport : { ...viaTransport, account: undefined };
}

/** `<secret>` or `<secret>.<account>` → the client, or the PikPak-shaped refusal. */
function identify(credential: string, deps: PikPakCompatDeps): Identified | PikPakAnswer {
  const dot = credential.indexOf('.');
  const secret = dot === -1 ? credential : credential.slice(0, dot);
  const account = dot === -1 ? undefined : credential.slice(dot + 1);
  const digest = digestOf(secret);
  const client = deps.clients.authenticateDigest(digest);
  if (!client) {
    if (deps.isAdmin?.(digest))
      return invalidGrant(
        'the admin credential is not accepted here; create a client: pikpak-token-broker clients add',
      );
    return invalidGrant(
      'unknown or revoked client secret; create a client (pikpak-token-broker clients add) and use its secret as the refresh token or password',
    );
  }
  if (account !== undefined && !ClientRegistry.allows(client, account))
    return invalidGrant(`client "${client.name}" may not use account "${account.slice(0, 64)}"`);
  return { client, secret, account };
}

async function answerFor(
  client: Client,
  secret: string,
  account: string,
  clientId: string | undefined,
  deps: PikPakCompatDeps,
): Promise<PikPakAnswer> {
  let view: AccessTokenView;
  try {
    view = await deps.broker.getAccessToken(account);
  } catch (error) {
    if (error instanceof AccountNotFoundError)
      return invalidGrant(
        `the broker has no account "${account}"; sign it in: pikpak-token-broker login --account ${account}`,
      );
    if (error instanceof ReauthRequiredError || error instanceof SignedOutError)
      return invalidGrant(
        `account "${account}" needs a new sign-in in the broker (${error.message}); run: pikpak-token-broker login --account ${account}`,
      );
    if (error instanceof UpstreamUnavailableError) {
      const seconds = Math.max(1, Math.ceil((error.retryAt - deps.now()) / 1000));
      return fail(503, 'unavailable', COMPAT_ERROR_CODES.unavailable, `${WHO}: ${error.message}`, {
        'retry-after': String(seconds),
      });
    }
    throw error;
  }
  if (clientId !== undefined) {
    const preset = presetByClientId(clientId);
    deps.log.debug(
      { client: client.name, account, callerPlatform: preset?.platform ?? 'unknown' },
      'PikPak-compatible token call',
    );
  }
  return {
    status: 200,
    body: {
      token_type: view.tokenType,
      access_token: view.accessToken.reveal(),
      refresh_token: surrogateRefreshToken(secret, account),
      // Never 0: golang.org/x/oauth2 (AList's oauth2 method) reads 0 as "never expires".
      expires_in: Math.max(1, secondsLeft(view.expiresAt, deps.now())),
      sub: view.userId,
    },
  };
}

/** The refresh token a PikPak-compatible caller gets: stable for one client secret and account. */
export function surrogateRefreshToken(clientSecret: string, account: string): string {
  return `${clientSecret}.${account}`;
}

function scopedAccounts(client: Client, deps: PikPakCompatDeps): string[] {
  return deps.broker
    .accounts()
    .map((a) => a.name)
    .filter((name) => ClientRegistry.allows(client, name));
}

function parseBody(contentType: string | undefined, raw: Buffer | string): JsonObject | undefined {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  const json = isJsonType(contentType) || (!isFormType(contentType) && text.trimStart().startsWith('{'));
  if (!json) return parseForm(text);
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function describeError(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'unknown', message: String(error) };
}
