/**
 * What happens to an HTTP request the bridge can read (inside an intercepted TLS connection to
 * PikPak's auth host, or a plain-HTTP proxy request):
 * - `POST /v1/auth/token` and `POST /v1/auth/signin` on an auth host are answered from the broker by
 *   the token service's own `answerPikPakAuthCall`: the client secret stands in for the refresh
 *   token or the password (or, when the call carries neither, the proxy credentials' secret
 *   does), and neither the secret nor the call ever reaches PikPak;
 * - those paths written any other way are refused (classifyAuthPath), never forwarded;
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
import type { Secret } from '../core/secret.js';
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

/** The only paths answered from the broker, exactly as PikPak's clients (AList) write them. */
const ANSWERED = new Set<string>([PATHS.token, PATHS.signin]);

export type PathVerdict = 'answer' | 'refuse' | 'forward';

/**
 * What to do with a request to an auth host, by its raw target's path (before any URL parser
 * resolved it): the exact token and sign-in paths are answered; any other spelling that some
 * server could read as one of them (`;` parameters, percent-encoded dots or slashes, `.` and `..`
 * segments, repeated or trailing slashes, backslashes, other case) is refused, because forwarding
 * it would hand the client secret in its body to PikPak; everything else is forwarded.
 */
export function classifyAuthPath(target: string): PathVerdict {
  const path = rawPathOf(target);
  if (ANSWERED.has(path)) return 'answer';
  // A forward sends the path as the URL parser resolves it (`//h/v1/auth/token` is `/v1/auth/token`
  // to it): that form may not be a token path either.
  let resolved = path;
  try {
    resolved = new URL(target, 'http://placeholder.invalid').pathname;
  } catch {
    // nothing will be forwarded: the caller refuses a target no URL parser accepts
  }
  return ANSWERED.has(loosePath(path)) || ANSWERED.has(loosePath(resolved)) ? 'refuse' : 'forward';
}

/** The path of a request target as sent: origin-form, or absolute-form without scheme and authority. */
export function rawPathOf(target: string): string {
  const rest = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const end = rest.search(/[?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The path as the most lenient server might read it; only ever compared, never sent. */
export function loosePath(path: string): string {
  let decoded = path;
  // Percent-decoding repeated: `%252e` is `%2e` after one pass and `.` after two.
  for (let pass = 0; pass < 4 && /%[0-9a-f]{2}/i.test(decoded); pass++)
    decoded = decoded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const segments: string[] = [];
  for (const raw of decoded.replace(/\\/g, '/').toLowerCase().split('/')) {
    // `;` parameters, and control characters and spaces some servers ignore.
    // eslint-disable-next-line no-control-regex
    const bare = raw.replace(/;.*$/s, '').replace(/[\u0000-\u0020\u007f]+/g, '');
    // `token.` is `token` to some servers (and file systems); `.` and `..` are segments of their own.
    const segment = /^\.+$/.test(bare) ? bare : bare.replace(/\.+$/, '');
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
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
  /** The proxy credentials' client secret: the client when the call carries no credential of its own. */
  proxySecret?: Secret,
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
      path: where.pathAndQuery,
      contentType,
      rawBody,
      bearer: bearerOf(req.headers.authorization),
      transportSecret: proxySecret?.reveal(),
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
