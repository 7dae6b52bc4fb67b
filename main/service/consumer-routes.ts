/**
 * What consumers (AList via the bridge, scripts, the CLI) call with a client secret: health,
 * their accounts, an account's access token, "this token was rejected", and the event stream;
 * plus PikPak's own token endpoints (see pikpak-compat.ts).
 */
import { worstHealth, type Health } from '../core/keeper-state.js';
import { Secret } from '../core/secret.js';
import { ClientRegistry } from './client-registry.js';
import { HttpError } from './http-error.js';
import { accountJson, tokenJson } from './json-view.js';
import { answerPikPakAuthCall } from './pikpak-compat.js';
import { isJsonType, parseJsonObject } from './request-body.js';
import { bearerOf } from './bearer.js';
import { assertScope, reply, STREAMED, type Call, type Reply, type Route } from './route.js';

export const SERVICE_NAME = 'pikpak-token-broker';
const ACCOUNT_TOKEN = /^\/v1\/accounts\/([^/]+)\/token$/;
const ACCOUNT_TOKEN_REJECTED = /^\/v1\/accounts\/([^/]+)\/token\/rejected$/;

/** `GET /v1/health`: no secret needed, so nothing in it names a user, an account or a token. */
function health(call: Call): Reply {
  const { broker } = call.deps;
  const counts: Record<Health, number> = { ok: 0, warn: 0, error: 0, busy: 0, idle: 0 };
  const accounts = broker.accounts();
  for (const a of accounts) counts[a.health] += 1;
  return reply(200, {
    service: SERVICE_NAME,
    api: 1,
    health: worstHealth(accounts.map((a) => a.health)),
    accounts: { total: accounts.length, ...counts },
    keychain: { available: broker.vault.status.available },
  });
}

function listAccounts(call: Call): Reply {
  const client = call.client;
  const visible = call.deps.broker.accounts().filter((a) => !client || ClientRegistry.allows(client, a.name));
  return reply(200, visible.map(accountJson));
}

/** The hot path: a fresh token costs one await of the keeper's settled promise. */
async function token(call: Call): Promise<Reply> {
  const account = call.params[0]!;
  assertScope(call, account);
  const view = await call.deps.broker.getAccessToken(account);
  return { status: 200, body: tokenJson(view, call.deps.now()) };
}

async function tokenRejected(call: Call): Promise<Reply> {
  const account = call.params[0]!;
  assertScope(call, account);
  const body = jsonBody(call, true)!;
  const rejected = body.access_token;
  if (typeof rejected !== 'string' || rejected === '')
    throw new HttpError(400, 'bad_request', 'Send {"access_token": "<the access token PikPak rejected>"}.');
  const view = await call.deps.broker.reportRejected(account, new Secret(rejected));
  return { status: 200, body: tokenJson(view, call.deps.now()) };
}

function events(call: Call): typeof STREAMED {
  const hub = call.deps.events;
  const refusal = hub.refusal(call.client);
  if (refusal === 'client')
    throw new HttpError(
      429,
      'too_many_streams_for_client',
      'This client has as many event streams open as it may; close one and retry.',
      { headers: { 'retry-after': '5' } },
    );
  if (refusal === 'total')
    throw new HttpError(503, 'too_many_streams', 'Too many event streams are open; close one and retry.', {
      headers: { 'retry-after': '5' },
    });
  hub.open(call.res, call.client);
  return STREAMED;
}

async function pikpak(call: Call): Promise<Reply> {
  const answer = await answerPikPakAuthCall(
    {
      path: call.path,
      contentType: call.headers.contentType,
      rawBody: call.body ?? '',
      query: call.query,
      bearer: bearerOf(call.headers.authorization),
    },
    {
      broker: call.deps.broker,
      clients: call.deps.clients,
      isAdmin: (digest) => call.deps.admin.matchesDigest(digest),
      now: call.deps.now,
      log: call.deps.log,
    },
  );
  return reply(answer.status, answer.body, answer.headers ? { ...answer.headers } : undefined);
}

/**
 * The body as a JSON object: `application/json` is required when there is a body (415 otherwise),
 * and a missing body is a 400 when `required`.
 */
export function jsonBody(call: Call, required: boolean): Record<string, unknown> | undefined {
  const body = call.body;
  if (body !== undefined && body.length > 0 && !isJsonType(call.headers.contentType))
    throw new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.');
  const value = body === undefined ? undefined : parseJsonObject(body);
  if (value === undefined && required)
    throw new HttpError(400, 'bad_request', 'This call needs a JSON body.');
  return value;
}

export const consumerRoutes: readonly Route[] = [
  { method: 'GET', path: '/v1/health', access: 'public', handler: health },
  { method: 'GET', path: '/v1/accounts', access: 'client', handler: listAccounts },
  { method: 'GET', path: ACCOUNT_TOKEN, access: 'client', handler: token },
  { method: 'POST', path: ACCOUNT_TOKEN_REJECTED, access: 'client', handler: tokenRejected },
  { method: 'GET', path: '/v1/events', access: 'client', handler: events },
  { method: 'POST', path: '/v1/auth/token', access: 'pikpak', handler: pikpak },
  { method: 'POST', path: '/v1/auth/signin', access: 'pikpak', handler: pikpak },
];
