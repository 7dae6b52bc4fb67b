/**
 * What the service answers when a request fails: an HTTP status, a stable code, a message for
 * people and, for some codes, extra fields (`reason`, `url`, `retry_at`). Handlers throw these;
 * `httpErrorOf` turns the core's and the provider's typed errors into them. Anything unknown is
 * a generic 500 whose details go to the log only.
 */
import {
  AccountConflictError,
  AccountNotFoundError,
  InvalidAccountNameError,
} from '../core/broker-errors.js';
import { ReauthRequiredError, SignedOutError, UpstreamUnavailableError } from '../core/keeper-errors.js';
import { CaptchaRequiredError, PikPakError, RateLimitedError } from '../pikpak/errors/index.js';
import { ClientExistsError, ClientNotFoundError, InvalidClientError } from './errors/index.js';

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.extra = options.extra;
    this.headers = options.headers;
  }

  /** The JSON body: `{"error":{"code","message",...extra}}`. */
  toBody(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message, ...this.extra } });
  }
}

/** Missing, wrong and revoked secrets get this same answer, so none can be told from another. */
export const unauthorized = (): HttpError =>
  new HttpError(
    401,
    'unauthorized',
    'A valid client secret is required: send "Authorization: Bearer <client secret>".',
    {
      headers: { 'www-authenticate': 'Bearer realm="pikpak-token-broker"' },
    },
  );

export const adminOnly = (): HttpError =>
  new HttpError(403, 'forbidden', 'This call needs the admin credential (admin.token in the data folder).');

export const notScoped = (account: string): HttpError =>
  new HttpError(403, 'forbidden', `This client may not use account "${account}".`);

export const accountNotFound = (account: string): HttpError =>
  new HttpError(404, 'account_not_found', `No account named "${account}".`);

export const internalError = (): HttpError =>
  new HttpError(500, 'internal', 'The broker failed to answer this request; its log has the details.');

/**
 * Maps an error thrown while serving a request to its answer, or undefined for an unexpected one
 * (the caller logs it and answers `internalError()`).
 */
export function httpErrorOf(error: unknown, now: number): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof AccountNotFoundError) return accountNotFound(error.account);
  if (error instanceof ReauthRequiredError)
    return new HttpError(409, 'reauth_required', error.message, {
      extra: { account: error.account, reason: error.reason },
    });
  if (error instanceof SignedOutError)
    return new HttpError(409, 'signed_out', error.message, { extra: { account: error.account } });
  if (error instanceof UpstreamUnavailableError)
    return upstreamUnavailable(error.message, error.retryAt, now);
  if (error instanceof InvalidAccountNameError)
    return new HttpError(400, 'invalid_account_name', error.message);
  if (error instanceof AccountConflictError) return new HttpError(409, 'account_conflict', error.message);
  if (error instanceof ClientExistsError) return new HttpError(409, 'client_exists', error.message);
  if (error instanceof ClientNotFoundError) return new HttpError(404, 'client_not_found', error.message);
  if (error instanceof InvalidClientError) return new HttpError(400, 'invalid_client', error.message);
  if (error instanceof CaptchaRequiredError)
    return new HttpError(
      409,
      'captcha_required',
      'PikPak asks for a captcha: open the url in a browser, solve it, and sign in again with the captcha token it ends with.',
      { extra: { url: error.url } },
    );
  if (error instanceof RateLimitedError)
    return upstreamUnavailable(
      `PikPak is rate limiting sign-ins: ${error.message}`,
      now + (error.retryAfterMs ?? 60_000),
      now,
      'rate_limited',
    );
  if (error instanceof PikPakError) {
    if (error.retryable)
      return upstreamUnavailable(`PikPak could not be used: ${error.message}`, undefined, now);
    // Not 401: that status means "your client secret is wrong" in this API.
    return new HttpError(422, 'pikpak_rejected', error.message, {
      extra: { pikpak_code: error.pikpakCode ?? null },
    });
  }
  return undefined;
}

function upstreamUnavailable(
  message: string,
  retryAt: number | undefined,
  now: number,
  code = 'upstream_unavailable',
): HttpError {
  const seconds = Math.max(1, Math.ceil(((retryAt ?? now + 30_000) - now) / 1000));
  return new HttpError(503, code, message, {
    extra: retryAt === undefined ? {} : { retry_at: new Date(retryAt).toISOString() },
    headers: { 'retry-after': String(seconds) },
  });
}
