/**
 * The one place that looks at axios errors and HTTP answers and turns them into the typed errors
 * of ./errors. Nothing else in the project inspects an AxiosError.
 *
 * First matching row wins:
 *
 * | what came back                                            | thrown                                  |
 * |-----------------------------------------------------------|-----------------------------------------|
 * | error_code 4126, or `error: "invalid_grant"` on a refresh | InvalidGrantError                       |
 * | error_code 16, 4121, 4122                                 | AccessTokenExpiredError                 |
 * | error_code 9                                              | CaptchaExpiredError                     |
 * | error_code 10                                             | RateLimitedError (Retry-After honoured) |
 * | HTTP 429, whatever the body                               | RateLimitedError (Retry-After honoured) |
 * | HTTP 5xx, with or without a PikPak error body             | TransientError('server')                |
 * | any other PikPak error body (`error` / `error_code` set)  | PikPakRejectedError                     |
 * | 1xx/3xx/4xx without a PikPak error body                   | TransientError('bad-response')          |
 * | 2xx that is not JSON or fails the schema                   | TransientError('bad-response')          |
 * | a reply that is not HTTP (HPE_*), an oversized body       | TransientError('bad-response')          |
 * | axios `timeout` (ETIMEDOUT), the client's deadline signal | TransientError('timeout')               |
 * | refused / reset / hang-up / DNS / TLS / body cut short    | TransientError('network')               |
 *
 * A TransientError also says what PikPak can have done with the request (`delivery`): a 5xx is an
 * answer (nothing granted); refused, unreachable, unresolved and a failed TLS handshake never
 * reached PikPak (`not-sent`: the request is written only once the connection is up); a timeout,
 * a reset, a hang-up or a body cut short may have been handled (`unknown`). The keeper uses it to
 * decide whether a refresh token is provably unspent after a restart.
 *
 * A PikPak error body counts in any status, 2xx included: a 200 carrying 4126 is not a token.
 *
 * ECONNABORTED is ambiguous in axios (axios/axios#1543: both "timeout" and "aborted"). The client
 * asks for `transitional.clarifyTimeoutError`, so a timeout arrives as ETIMEDOUT; an abort by the
 * caller's own signal never reaches this file (the client rethrows the caller's reason).
 *
 * Secrets: messages are built from PikPak's error code and description, the operation, the method
 * and origin+path of the endpoint — never from the request config, body, headers or query.
 * Server-provided text is truncated, stripped of control characters and scrubbed of every secret
 * the call carried, in case a server echoes one back. The AxiosError is never attached as
 * `cause` (its config holds the request body); a small summary `{code}` is attached instead.
 */
import type { AxiosError } from 'axios';
import * as v from 'valibot';
import { issueCode, issuePath } from '../validation/issues.js';
import type { Secret } from '../core/secret.js';
import { ERROR_CODES } from './protocol.js';
import { ErrorAnswer } from './responses.js';
import {
  AccessTokenExpiredError,
  CaptchaExpiredError,
  InvalidGrantError,
  PikPakRejectedError,
  RateLimitedError,
  TransientError,
  type PikPakError,
} from './errors/index.js';

export type PikPakOperation = 'captcha-init' | 'sign-in' | 'refresh' | 'token-check';

const LABELS: Readonly<Record<PikPakOperation, string>> = {
  'captcha-init': 'captcha init',
  'sign-in': 'sign-in',
  refresh: 'token refresh',
  'token-check': 'access token check',
};

/** What error-mapping may know about a call. Deliberately nothing that was sent. */
export interface CallContext {
  readonly operation: PikPakOperation;
  readonly method: string;
  /** Origin and path only: never the query, never userinfo. */
  readonly endpoint: string;
  readonly timeoutMs: number;
  readonly now: () => number;
  /** Values that must never appear in a message, even if PikPak echoes one back. */
  readonly secrets: readonly Secret[];
}

/** The parts of an HTTP answer this file reads (an AxiosResponse fits). */
export interface RawAnswer {
  readonly status: number;
  readonly headers?: unknown;
  readonly data?: unknown;
}

/** Attached as `cause` to transport failures: the low-level code and nothing else. */
export interface TransportSummary {
  readonly code: string;
}

const MAX_TEXT = 300;

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Failures before a connection was up: the request was never written, PikPak never saw it. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
]);

/** Replies that are not HTTP at all, or not a usable answer. */
const BAD_RESPONSE_CODES = new Set([
  'ERR_FR_TOO_MANY_REDIRECTS',
  'ERR_FR_MAX_BODY_LENGTH_EXCEEDED',
  'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED',
]);

// ---------------------------------------------------------------- answers (the request completed)

/**
 * Reads a completed HTTP answer: returns the validated body of a good answer, throws the typed
 * error for anything else.
 */
export function readAnswer<S extends v.GenericSchema>(
  answer: RawAnswer,
  schema: S,
  ctx: CallContext,
): v.InferOutput<S> {
  const body = parseBody(answer.data);
  const failure = failureFrom(answer, body, ctx);
  if (failure) throw failure;
  if (!body.ok) throw badResponse(answer.status, body.why, ctx);
  const parsed = v.safeParse(schema, body.value);
  if (!parsed.success) {
    const why = parsed.issues
      .slice(0, 3)
      .map((issue) => `${issuePath(issue) || '(body)'}: ${issueCode(issue)}`)
      .join('; ');
    throw badResponse(answer.status, `unexpected shape: ${why}`, ctx);
  }
  return parsed.output;
}

/** The typed error an answer stands for, or undefined for a 2xx without a PikPak error body. */
function failureOf(answer: RawAnswer, ctx: CallContext): PikPakError | undefined {
  return failureFrom(answer, parseBody(answer.data), ctx);
}

function failureFrom(answer: RawAnswer, body: Body, ctx: CallContext): PikPakError | undefined {
  const { status } = answer;
  const retryAfterMs = parseRetryAfter(headerValue(answer.headers, 'retry-after'), ctx.now());
  const pikpak = body.ok ? errorAnswerOf(body.value) : undefined;
  if (pikpak) return fromErrorAnswer(pikpak, status, retryAfterMs, ctx);
  const label = LABELS[ctx.operation];
  if (status === 429) {
    return new RateLimitedError(
      finish(`PikPak is rate limiting the ${label} (HTTP 429)${retryHint(retryAfterMs)}`, ctx),
      { httpStatus: status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    );
  }
  if (status >= 500) {
    return new TransientError('server', finish(`PikPak answered the ${label} with HTTP ${status}`, ctx), {
      httpStatus: status,
    });
  }
  if (status < 200 || status >= 300) {
    return badResponse(status, 'no PikPak error body', ctx);
  }
  return undefined;
}

function fromErrorAnswer(
  answer: ErrorAnswer,
  status: number,
  retryAfterMs: number | undefined,
  ctx: CallContext,
): PikPakError {
  const code = answer.error_code !== undefined && answer.error_code !== 0 ? answer.error_code : undefined;
  const name = answer.error ? clean(answer.error, ctx, 60) : undefined;
  const description = answer.error_description ? `: ${clean(answer.error_description, ctx, MAX_TEXT)}` : '';
  const label = LABELS[ctx.operation];
  const common = { httpStatus: status, ...(code === undefined ? {} : { pikpakCode: code }) };

  if (code === ERROR_CODES.invalidGrant || (name === 'invalid_grant' && ctx.operation === 'refresh')) {
    const subject = ctx.operation === 'refresh' ? 'refresh token' : label;
    return new InvalidGrantError(
      finish(`PikPak rejected the ${subject} (${code ?? name})${description}`, ctx),
      common,
    );
  }
  switch (code) {
    case ERROR_CODES.accessTokenExpired:
    case ERROR_CODES.accessTokenInvalid:
    case ERROR_CODES.accessTokenInvalid2:
      return new AccessTokenExpiredError(
        finish(`PikPak says the access token is expired or invalid (${code})${description}`, ctx),
        common,
      );
    case ERROR_CODES.captchaExpired:
      return new CaptchaExpiredError(
        finish(`PikPak says the captcha token has expired (${code})${description}`, ctx),
        common,
      );
    case ERROR_CODES.rateLimited:
      return new RateLimitedError(
        finish(`PikPak is rate limiting the ${label} (${code})${description}${retryHint(retryAfterMs)}`, ctx),
        { ...common, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      );
  }
  const tag = [name, code].filter((part) => part !== undefined).join(', ');
  if (status === 429) {
    return new RateLimitedError(
      finish(
        `PikPak is rate limiting the ${label} (HTTP 429, ${tag})${description}${retryHint(retryAfterMs)}`,
        ctx,
      ),
      { ...common, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    );
  }
  if (status >= 500) {
    return new TransientError(
      'server',
      finish(`PikPak answered the ${label} with HTTP ${status} (${tag})${description}`, ctx),
      common,
    );
  }
  return new PikPakRejectedError(
    name ?? 'error',
    finish(`PikPak rejected the ${label} (${tag})${description}`, ctx),
    common,
  );
}

/** A PikPak error body: `error_code` non-zero or `error` non-empty. */
function errorAnswerOf(value: unknown): ErrorAnswer | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const parsed = v.safeParse(ErrorAnswer, value);
  if (!parsed.success) return undefined;
  const { error, error_code: code } = parsed.output;
  return (code !== undefined && code !== 0) || (error !== undefined && error !== '')
    ? parsed.output
    : undefined;
}

function badResponse(status: number, why: string, ctx: CallContext): TransientError {
  return new TransientError(
    'bad-response',
    finish(
      `PikPak answered the ${LABELS[ctx.operation]} with HTTP ${status}, but not with the expected JSON (${why})`,
      ctx,
    ),
    { httpStatus: status },
  );
}

type Body = { ok: true; value: unknown } | { ok: false; why: string };

function parseBody(data: unknown): Body {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array) text = Buffer.from(data).toString('utf8');
  else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8');
  else if (data === undefined || data === null) return { ok: false, why: 'empty body' };
  else return { ok: true, value: data };
  if (text.trim() === '') return { ok: false, why: 'empty body' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, why: 'body is not JSON' };
  }
}

// ------------------------------------------------------- transport (no usable answer came back)

/**
 * Maps a thrown request failure. `deadlineExceeded` says the client's own wall-clock deadline
 * fired (a body trickling in slower than `timeoutMs`).
 */
export function mapRequestError(
  error: unknown,
  ctx: CallContext,
  hints: { deadlineExceeded?: boolean } = {},
): PikPakError {
  const label = LABELS[ctx.operation];
  const where = `${ctx.method} ${ctx.endpoint}`;
  if (isAxiosError(error) && error.response) {
    const { status, headers, data } = error.response;
    return (
      failureOf({ status, headers, data }, ctx) ??
      badResponse(status, `request failed: ${safeCode(error) ?? 'unknown'}`, ctx)
    );
  }
  const code = safeCode(error) ?? (error instanceof Error ? error.name : 'unknown');
  const cause: TransportSummary = { code };
  const timeout = () =>
    new TransientError(
      'timeout',
      finish(`PikPak did not answer the ${label} within ${ctx.timeoutMs} ms (${where})`, ctx),
      {
        cause,
      },
    );
  const network = (what: string, delivery: 'not-sent' | 'unknown' = 'unknown') =>
    new TransientError(
      'network',
      finish(`Could not reach PikPak for the ${label} (${where}): ${what}`, ctx),
      {
        cause,
        delivery,
      },
    );
  const bad = (what: string) =>
    new TransientError(
      'bad-response',
      finish(`PikPak's answer to the ${label} was unusable (${where}): ${what}`, ctx),
      {
        cause,
      },
    );

  if (hints.deadlineExceeded) return timeout();
  if (TIMEOUT_CODES.has(code)) return timeout();
  const message = error instanceof Error ? error.message : '';
  if (code === 'ECONNABORTED') {
    // axios/axios#1543: ECONNABORTED is axios's legacy timeout code and also means "aborted".
    return /timeout/i.test(message) ? timeout() : network('connection aborted (ECONNABORTED)');
  }
  if (code === 'ERR_CANCELED') return network('request cancelled before PikPak answered');
  if (code === 'ERR_BAD_RESPONSE') {
    return /maxContentLength/.test(message)
      ? bad('body too large')
      : network('connection dropped mid-answer');
  }
  if (BAD_RESPONSE_CODES.has(code) || code.startsWith('HPE_')) return bad(`not an HTTP answer (${code})`);
  if (/^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code))
    // A certificate PikPak's name cannot be verified against fails the handshake, before any
    // request byte; other TLS errors can strike mid-stream.
    return network(
      `TLS: ${code}`,
      /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_TLS_CERT_)/.test(code) ? 'not-sent' : 'unknown',
    );
  if (code === 'ECONNRESET' && /socket hang up/i.test(message)) return network('socket hang up (ECONNRESET)');
  return network(code, NOT_SENT_CODES.has(code) ? 'not-sent' : 'unknown');
}

/** A code that is safe to print: an identifier, never free text. */
function safeCode(error: unknown): string | undefined {
  const candidates: unknown[] = [];
  if (typeof error === 'object' && error !== null) {
    const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
    candidates.push(record.code);
    if (typeof record.cause === 'object' && record.cause !== null) {
      candidates.push((record.cause as { code?: unknown }).code);
    }
    if (Array.isArray(record.errors) && typeof record.errors[0] === 'object' && record.errors[0] !== null) {
      candidates.push((record.errors[0] as { code?: unknown }).code);
    }
  }
  const code = candidates.find((c): c is string => typeof c === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(c));
  // axios' generic wrapper code hides the more telling one underneath (e.g. ERR_NETWORK over ECONNREFUSED).
  if (code === 'ERR_NETWORK') {
    const inner = candidates
      .slice(1)
      .find((c): c is string => typeof c === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(c));
    return inner ?? code;
  }
  return code;
}

// ------------------------------------------------------------------------------------ helpers

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names a weekday and a month; V8 would otherwise read "-5" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function retryHint(retryAfterMs: number | undefined): string {
  return retryAfterMs === undefined ? '' : `; retry after ${Math.ceil(retryAfterMs / 1000)} s`;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const getter = (headers as { get?: unknown }).get;
  let value: unknown;
  if (typeof getter === 'function') {
    value = (getter as (this: unknown, key: string) => unknown).call(headers, name);
  } else {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : (headers as Record<string, unknown>)[key];
  }
  if (Array.isArray(value)) value = value[0];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : undefined;
}

/** Server-provided text: one line, bounded, scrubbed. */
function clean(text: string, ctx: CallContext, max: number): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = scrub(text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim(), ctx);
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/** Last line of defence: no secret the call carried survives in a message. */
function finish(message: string, ctx: CallContext): string {
  return scrub(message, ctx);
}

function scrub(text: string, ctx: CallContext): string {
  let out = text;
  for (const secret of ctx.secrets) {
    const value = secret.reveal();
    if (value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}

/** axios' own test (`payload.isAxiosError === true`), without loading axios to make it. */
function isAxiosError(error: unknown): error is AxiosError {
  return (
    typeof error === 'object' && error !== null && (error as { isAxiosError?: unknown }).isAxiosError === true
  );
}
