/**
 * What happens to an HTTP request the bridge can read (inside an intercepted TLS connection to
 * PikPak's auth host, or a plain-HTTP proxy request):
 * - `POST /v1/auth/token` and `POST /v1/auth/signin` on an auth host are answered from the broker by
 *   the token service's own `answerPikPakAuthCall`: the client secret stands in for the refresh
 *   token or the password, and neither the secret nor the call ever reaches PikPak;
 * - every other request is forwarded upstream unchanged (method, path, query, end-to-end headers
 *   including Host, body) and PikPak's answer is streamed back unchanged.
 * Logs name the host and path only: never bodies, queries or Authorization.
 */
import {
  request as httpRequest,
  type Agent as HttpAgent,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { Logger } from '../core/ports.js';
import { PATHS } from '../pikpak/protocol.js';
import { bearerOf } from '../service/bearer.js';
import { answerPikPakAuthCall, COMPAT_ERROR_CODES, type PikPakCompatDeps } from '../service/pikpak-compat.js';
import { BodyTooLargeError, endToEndHeaders, pikpakError, readBoundedBody, sendJson } from './http-util.js';

export interface AuthHostDeps {
  readonly compat: PikPakCompatDeps;
  readonly httpsAgent: HttpsAgent;
  readonly httpAgent: HttpAgent;
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  readonly log: Logger;
  readonly count: (what: 'answered' | 'forwarded') => void;
}

/** The token paths, compared after normalising (case, repeated or trailing slashes, escapes). */
const ANSWERED = new Set<string>([PATHS.token, PATHS.signin]);

/** `/v1/auth/token` for `/V1//auth/token/` or `/v1/auth/%74oken`: such a call must not slip upstream. */
export function normalisePath(pathname: string): string {
  let path = pathname;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    // keep it as sent; it then matches nothing we answer
  }
  return (
    path
      .toLowerCase()
      .replace(/\/{2,}/g, '/')
      .replace(/\/+$/, '') || '/'
  );
}

export function isAnsweredPath(pathname: string): boolean {
  return ANSWERED.has(normalisePath(pathname));
}

/** Splits a request target (origin-form or absolute-form) into path and the rest. */
export function splitTarget(target: string): { pathname: string; pathAndQuery: string } {
  const url = new URL(target, 'http://placeholder.invalid');
  return { pathname: url.pathname, pathAndQuery: url.pathname + url.search };
}

/** Answers a token or sign-in call from the broker, in PikPak's shapes. */
export async function answerFromBroker(
  req: IncomingMessage,
  res: ServerResponse,
  where: { host: string; pathAndQuery: string; pathname: string },
  deps: AuthHostDeps,
): Promise<void> {
  deps.count('answered');
  deps.log.debug({ host: where.host, path: where.pathname }, 'bridge: answering from the broker');
  if (req.method !== 'POST') {
    req.resume();
    sendJson(
      res,
      405,
      pikpakError('method_not_allowed', COMPAT_ERROR_CODES.invalidArgument, `${where.pathname} takes POST`),
      { allow: 'POST' },
    );
    return;
  }
  let rawBody: Buffer;
  try {
    rawBody = await readBoundedBody(req, deps.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      res.shouldKeepAlive = false;
      sendJson(res, 413, pikpakError('invalid_argument', COMPAT_ERROR_CODES.invalidArgument, error.message));
    } else res.destroy();
    return;
  }
  const contentType = req.headers['content-type'];
  const answer = await answerPikPakAuthCall(
    {
      path: normaliseForCompat(where.pathAndQuery),
      contentType,
      rawBody,
      bearer: bearerOf(req.headers.authorization),
    },
    deps.compat,
  );
  sendJson(res, answer.status, atLeastOneSecond(answer.body), answer.headers);
}

/**
 * A token answer never says `expires_in: 0`: golang.org/x/oauth2 reads 0 as "never expires" and
 * then caches the access token forever (AList's oauth2 method), while the compatible endpoint
 * rounds down and says 0 in a token's last second (seen with 1 s tokens in the e2e test).
 */
function atLeastOneSecond<T extends object>(body: T): T {
  if ('expires_in' in body && typeof body.expires_in === 'number' && body.expires_in < 1)
    return { ...body, expires_in: 1 };
  return body;
}

/** answerPikPakAuthCall matches exact paths: hand it the canonical one, with the query as sent. */
function normaliseForCompat(pathAndQuery: string): string {
  const at = pathAndQuery.indexOf('?');
  const path = at === -1 ? pathAndQuery : pathAndQuery.slice(0, at);
  return normalisePath(path) + (at === -1 ? '' : pathAndQuery.slice(at));
}

/**
 * Forwards a request to `base` (scheme, host and port; its path, if any, is prepended) and streams
 * the answer back. A failure before PikPak answered becomes a PikPak-shaped 502 or 504.
 */
export function forwardUpstream(
  req: IncomingMessage,
  res: ServerResponse,
  base: URL,
  where: { host: string; pathAndQuery: string; pathname: string },
  deps: AuthHostDeps,
): void {
  deps.count('forwarded');
  deps.log.debug(
    { host: where.host, method: req.method, path: where.pathname, upstream: base.origin },
    'bridge: forwarding upstream',
  );
  const url = new URL(base.pathname.replace(/\/+$/, '') + where.pathAndQuery, base.origin);
  const headers = endToEndHeaders(req.headers);
  headers.host ??= where.host;
  const https = url.protocol === 'https:';
  const upstream = (https ? httpsRequest : httpRequest)(url, {
    method: req.method,
    headers,
    agent: https ? deps.httpsAgent : deps.httpAgent,
    // SNI and the certificate check name the host AList asked for, as a direct call would.
    ...(https ? { servername: isIp(where.host) ? '' : where.host } : {}),
    timeout: deps.upstreamTimeoutMs,
  });
  let answered = false;
  upstream.on('response', (answer) => {
    answered = true;
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.headers));
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('timeout', () => upstream.destroy(new UpstreamTimeout()));
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    deps.log.debug(
      { host: where.host, path: where.pathname, error: error.code ?? error.message },
      'bridge: upstream failed',
    );
    if (answered || res.headersSent) return void res.destroy();
    const timedOut = error instanceof UpstreamTimeout;
    res.shouldKeepAlive = false;
    sendJson(
      res,
      timedOut ? 504 : 502,
      pikpakError(
        'unavailable',
        COMPAT_ERROR_CODES.unavailable,
        `${base.host} ${timedOut ? 'did not answer in time' : `could not be reached (${error.code ?? error.message})`}`,
      ),
    );
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

class UpstreamTimeout extends Error {
  constructor() {
    super('upstream timeout');
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
