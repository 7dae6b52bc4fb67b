/**
 * The PikPak provider: captcha init, sign-in, refresh and an access-token check over axios,
 * speaking the protocol of shared/PIKPAK.md the way AList's driver does (same bodies, query,
 * hosts and per-platform User-Agent). Every failure leaves as a typed error from ./errors
 * (built in ./error-mapping.ts); every credential enters and leaves as a Secret and is revealed
 * only into the request body or header it belongs in.
 *
 * One call, one request: nothing here retries or loops (the keeper owns retries). A captcha
 * challenge is reported once as CaptchaRequiredError(url), never polled.
 */
import type { AxiosInstance, AxiosProxyConfig } from 'axios';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type * as v from 'valibot';
import { Secret } from '../core/secret.js';
import { normalizeBaseUrl } from './base-url.js';
import { CaptchaRequiredError } from './errors/index.js';
import { mapRequestError, readAnswer, type CallContext, type PikPakOperation } from './error-mapping.js';
import {
  CAPTCHA_REDIRECT_URI,
  DEFAULT_AUTH_BASE_URL,
  DEFAULT_DRIVE_BASE_URL,
  PATHS,
  PRESETS,
  captchaAction,
  signedMeta,
  signinMeta,
  userAgent,
  type Platform,
  type PlatformPreset,
  type SignedMeta,
  type SigninMeta,
} from './protocol.js';
import { AboutAnswer, CaptchaInitAnswer, TokenAnswer } from './responses.js';

export interface PikPakClientOptions {
  /** Auth host, `https://user.mypikpak.net` by default (`https://user.mypikpak.com` works too). */
  authBaseUrl?: string;
  /** Drive host, `https://api-drive.mypikpak.net` by default. */
  driveBaseUrl?: string;
  /** Bound on one call, connect to last byte. Default 15 000 ms. */
  timeoutMs?: number;
  /** Agents for the sockets (tests trust a test CA or override DNS `lookup` here). */
  httpsAgent?: HttpsAgent;
  httpAgent?: HttpAgent;
  /** Proxy for PikPak calls; `false` ignores HTTP(S)_PROXY. Default: axios' own (environment). */
  proxy?: AxiosProxyConfig | false;
  /** An axios instance to send through (tests inject one with a fake adapter). */
  axiosInstance?: AxiosInstance;
  /** Wall clock in Unix ms (captcha_sign timestamps, the android User-Agent, Retry-After dates). */
  now?: () => number;
  /** Replaces platform presets (client id/secret, salts), e.g. if PikPak rotates a client. */
  presets?: Partial<Record<Platform, PlatformPreset>>;
}

/** What a sign-in or a refresh yields. The access token is opaque: `expiresInSec` is its only clock. */
export interface TokenSet {
  accessToken: Secret;
  refreshToken: Secret;
  tokenType: string;
  expiresInSec: number;
  userId: string;
}

export interface CaptchaGrant {
  captchaToken: Secret;
  /** Seconds the captcha token stays valid. */
  expiresIn: number;
}

/** Every call accepts a caller signal; aborting rejects with the signal's reason, unmapped. */
interface Cancellable {
  signal?: AbortSignal;
}

export interface CaptchaInitParams extends Cancellable {
  platform: Platform;
  deviceId: string;
  /** `"<METHOD>:<path>"` of the call the token unlocks, e.g. `POST:/v1/auth/signin`. */
  action: string;
  meta: SigninMeta | SignedMeta | Record<string, string>;
  /** The captcha token held so far, if any (PikPak wants it back when renewing). */
  captchaToken?: Secret | string;
  /** After sign-in AList sends the access token along; optional. */
  accessToken?: Secret;
  /** Only used for the android User-Agent (`usrno/`). */
  userId?: string;
}

export interface CaptchaForSigninParams extends Cancellable {
  platform: Platform;
  deviceId: string;
  username: string;
  captchaToken?: Secret | string;
}

export interface CaptchaAfterSigninParams extends Cancellable {
  platform: Platform;
  deviceId: string;
  userId: string;
  /** e.g. `GET:/drive/v1/files` (see protocol.captchaAction). */
  action: string;
  captchaToken?: Secret | string;
  accessToken?: Secret;
}

export interface SignInParams extends Cancellable {
  platform: Platform;
  username: string;
  password: Secret;
  deviceId: string;
  /** Sent as is (AList sends an empty one when it has none). */
  captchaToken?: Secret | string;
}

export interface SignInWithCaptchaParams extends SignInParams {
  /**
   * A captcha token the user obtained by solving the challenge page (the `captcha_token` of the
   * `xlaccsdk01://` redirect). When given, no captcha init is made.
   */
  captchaToken?: Secret | string;
}

export interface RefreshParams extends Cancellable {
  platform: Platform;
  refreshToken: Secret;
  /** For the android User-Agent only; the refresh itself does not need it. */
  deviceId?: string;
  userId?: string;
}

export interface CheckAccessTokenParams extends Cancellable {
  platform: Platform;
  accessToken: Secret;
  deviceId: string;
  captchaToken?: Secret | string;
  userId?: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** PikPak's answers are a few hundred bytes; anything this large is not one. */
const MAX_ANSWER_BYTES = 1024 * 1024;

interface CallSpec<S extends v.GenericSchema> extends Cancellable {
  operation: PikPakOperation;
  method: 'GET' | 'POST';
  baseUrl: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: Record<string, unknown>;
  schema: S;
  /** Everything secret this call carries, scrubbed from any message. */
  secrets: Secret[];
}

export class PikPakClient {
  readonly authBaseUrl: string;
  readonly driveBaseUrl: string;
  readonly timeoutMs: number;
  /** Created at the first call: axios costs ~0.5 s and ~20 MB to load, and an idle daemon may never call. */
  #http: AxiosInstance | undefined;
  readonly #now: () => number;
  readonly #presets: Readonly<Record<Platform, PlatformPreset>>;
  readonly #httpAgent: HttpAgent | undefined;
  readonly #httpsAgent: HttpsAgent | undefined;
  readonly #proxy: AxiosProxyConfig | false | undefined;

  constructor(options: PikPakClientOptions = {}) {
    this.authBaseUrl = normalizeBaseUrl(options.authBaseUrl ?? DEFAULT_AUTH_BASE_URL, 'authBaseUrl');
    this.driveBaseUrl = normalizeBaseUrl(options.driveBaseUrl ?? DEFAULT_DRIVE_BASE_URL, 'driveBaseUrl');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new RangeError('timeoutMs must be a positive number');
    this.timeoutMs = timeoutMs;
    this.#http = options.axiosInstance;
    this.#now = options.now ?? Date.now;
    this.#presets = { ...PRESETS, ...options.presets };
    this.#httpAgent = options.httpAgent;
    this.#httpsAgent = options.httpsAgent;
    this.#proxy = options.proxy;
  }

  preset(platform: Platform): PlatformPreset {
    return this.#presets[platform];
  }

  /**
   * `POST /v1/shield/captcha/init`. Throws CaptchaRequiredError(url) when PikPak wants a human to
   * solve a challenge first.
   */
  async captchaInit(params: CaptchaInitParams): Promise<CaptchaGrant> {
    const preset = this.preset(params.platform);
    const held = toSecret(params.captchaToken);
    // As AList's driver: device id and the captcha token held so far (possibly empty) as headers.
    const headers: Record<string, string> = {
      ...this.#baseHeaders(preset, params.deviceId, params.userId),
      'X-Device-ID': params.deviceId,
      'X-Captcha-Token': held?.reveal() ?? '',
    };
    if (params.accessToken) headers['Authorization'] = `Bearer ${params.accessToken.reveal()}`;
    const answer = await this.#call({
      operation: 'captcha-init',
      method: 'POST',
      baseUrl: this.authBaseUrl,
      path: PATHS.captchaInit,
      query: { client_id: preset.clientId },
      headers,
      body: {
        action: params.action,
        captcha_token: held?.reveal() ?? '',
        client_id: preset.clientId,
        device_id: params.deviceId,
        meta: params.meta,
        redirect_uri: CAPTCHA_REDIRECT_URI,
      },
      schema: CaptchaInitAnswer,
      secrets: compact([held, params.accessToken]),
      signal: params.signal,
    });
    if (answer.url) throw new CaptchaRequiredError(answer.url, { httpStatus: 200 });
    // The schema guarantees both when there is no url.
    return { captchaToken: new Secret(answer.captcha_token ?? ''), expiresIn: answer.expires_in ?? 0 };
  }

  /** A captcha token for `POST:/v1/auth/signin`; `meta` is chosen from the username's shape. */
  captchaForSignin(params: CaptchaForSigninParams): Promise<CaptchaGrant> {
    return this.captchaInit({
      platform: params.platform,
      deviceId: params.deviceId,
      action: captchaAction('POST', PATHS.signin),
      meta: signinMeta(params.username),
      ...(params.captchaToken === undefined ? {} : { captchaToken: params.captchaToken }),
      ...(params.signal === undefined ? {} : { signal: params.signal }),
    });
  }

  /** A captcha token for a call made after sign-in; `meta` carries a captcha_sign made now. */
  captchaAfterSignin(params: CaptchaAfterSigninParams): Promise<CaptchaGrant> {
    const preset = this.preset(params.platform);
    return this.captchaInit({
      platform: params.platform,
      deviceId: params.deviceId,
      action: params.action,
      meta: signedMeta(preset, params.deviceId, params.userId, this.#now()),
      userId: params.userId,
      ...(params.captchaToken === undefined ? {} : { captchaToken: params.captchaToken }),
      ...(params.accessToken === undefined ? {} : { accessToken: params.accessToken }),
      ...(params.signal === undefined ? {} : { signal: params.signal }),
    });
  }

  /** `POST /v1/auth/signin` with the captcha token given (or an empty one). */
  async signIn(params: SignInParams): Promise<TokenSet> {
    const preset = this.preset(params.platform);
    const captcha = toSecret(params.captchaToken);
    const clientSecret = new Secret(preset.clientSecret);
    const answer = await this.#call({
      operation: 'sign-in',
      method: 'POST',
      baseUrl: this.authBaseUrl,
      path: PATHS.signin,
      query: { client_id: preset.clientId },
      headers: this.#baseHeaders(preset, params.deviceId),
      body: {
        captcha_token: captcha?.reveal() ?? '',
        client_id: preset.clientId,
        client_secret: clientSecret.reveal(),
        username: params.username,
        password: params.password.reveal(),
      },
      schema: TokenAnswer,
      secrets: compact([params.password, clientSecret, captcha]),
      signal: params.signal,
    });
    return toTokenSet(answer);
  }

  /**
   * Sign-in as AList does it: a captcha init for `POST:/v1/auth/signin`, then the sign-in. With a
   * captcha token solved by the user on the challenge page, the init is skipped.
   */
  async signInWithCaptcha(params: SignInWithCaptchaParams): Promise<TokenSet> {
    const solved = toSecret(params.captchaToken);
    const captchaToken =
      solved && !solved.isEmpty
        ? solved
        : (
            await this.captchaForSignin({
              platform: params.platform,
              deviceId: params.deviceId,
              username: params.username,
              ...(params.signal === undefined ? {} : { signal: params.signal }),
            })
          ).captchaToken;
    return this.signIn({ ...params, captchaToken });
  }

  /**
   * `POST /v1/auth/token` with grant_type refresh_token. PikPak answers with a NEW refresh token;
   * the one sent is dead from then on, whatever happens to this answer.
   */
  async refresh(params: RefreshParams): Promise<TokenSet> {
    const preset = this.preset(params.platform);
    const clientSecret = new Secret(preset.clientSecret);
    const answer = await this.#call({
      operation: 'refresh',
      method: 'POST',
      baseUrl: this.authBaseUrl,
      path: PATHS.token,
      query: { client_id: preset.clientId },
      headers: this.#baseHeaders(preset, params.deviceId ?? '', params.userId),
      body: {
        client_id: preset.clientId,
        client_secret: clientSecret.reveal(),
        grant_type: 'refresh_token',
        refresh_token: params.refreshToken.reveal(),
      },
      schema: TokenAnswer,
      secrets: [params.refreshToken, clientSecret],
      signal: params.signal,
    });
    return toTokenSet(answer);
  }

  /** `GET /drive/v1/about` with the access token: resolves when PikPak accepts it. */
  async checkAccessToken(params: CheckAccessTokenParams): Promise<void> {
    const preset = this.preset(params.platform);
    const captcha = toSecret(params.captchaToken);
    await this.#call({
      operation: 'token-check',
      method: 'GET',
      baseUrl: this.driveBaseUrl,
      path: PATHS.about,
      headers: {
        'User-Agent': userAgent(preset, params.deviceId, params.userId ?? '', this.#now()),
        Authorization: `Bearer ${params.accessToken.reveal()}`,
        'X-Device-ID': params.deviceId,
        'X-Captcha-Token': captcha?.reveal() ?? '',
      },
      schema: AboutAnswer,
      secrets: compact([params.accessToken, captcha]),
      signal: params.signal,
    });
  }

  #baseHeaders(preset: PlatformPreset, deviceId: string, userId = ''): Record<string, string> {
    return {
      'Content-Type': 'application/json',
      'User-Agent': userAgent(preset, deviceId, userId, this.#now()),
    };
  }

  async #call<S extends v.GenericSchema>(spec: CallSpec<S>): Promise<v.InferOutput<S>> {
    const url = spec.baseUrl + spec.path;
    const ctx: CallContext = {
      operation: spec.operation,
      method: spec.method,
      endpoint: publicEndpoint(url),
      timeoutMs: this.timeoutMs,
      now: this.#now,
      secrets: spec.secrets,
    };
    spec.signal?.throwIfAborted();
    this.#http ??= (await import('axios')).default.create(); // before the deadline starts
    // axios' `timeout` covers connect-to-headers and socket idleness; this deadline also bounds a
    // body that trickles in. The caller's signal stays separate so an abort is never a "timeout".
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    timer.unref();
    const signal = spec.signal ? AbortSignal.any([spec.signal, deadline.signal]) : deadline.signal;
    let answer;
    try {
      answer = await this.#http.request<unknown>({
        url,
        method: spec.method,
        ...(spec.query ? { params: spec.query } : {}),
        headers: spec.headers,
        ...(spec.body ? { data: JSON.stringify(spec.body) } : {}),
        timeout: this.timeoutMs,
        signal,
        // Every status comes back as an answer; error-mapping decides what it means.
        validateStatus: () => true,
        // A redirect would re-send the password or refresh token to wherever it points.
        maxRedirects: 0,
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
        maxContentLength: MAX_ANSWER_BYTES,
        ...(this.#httpAgent ? { httpAgent: this.#httpAgent } : {}),
        ...(this.#httpsAgent ? { httpsAgent: this.#httpsAgent } : {}),
        ...(this.#proxy === undefined ? {} : { proxy: this.#proxy }),
      });
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      throw mapRequestError(error, ctx, { deadlineExceeded: deadline.signal.aborted });
    } finally {
      clearTimeout(timer);
    }
    return readAnswer(answer, spec.schema, ctx);
  }
}

function toTokenSet(answer: TokenAnswer): TokenSet {
  return {
    accessToken: new Secret(answer.access_token),
    refreshToken: new Secret(answer.refresh_token),
    tokenType: answer.token_type,
    expiresInSec: answer.expires_in,
    userId: answer.sub,
  };
}

function toSecret(value: Secret | string | undefined): Secret | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? new Secret(value) : value;
}

function compact(values: (Secret | undefined)[]): Secret[] {
  return values.filter((v): v is Secret => v !== undefined);
}

/** Origin and path, for messages: no userinfo, no query. */
function publicEndpoint(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
