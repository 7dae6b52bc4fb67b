/**
 * The service's one request listener. In order, each step refusing with a JSON error:
 *   1. browser hardening: `Origin` / `Sec-Fetch-*` → 403 browser_request_refused; a Host that is
 *      not loopback (or the socket) → 403 host_not_allowed; repeated Host/Authorization/… → 400;
 *   2. declared body size over the limit → 413 (the connection is closed afterwards);
 *   3. route → 404 / 405;
 *   4. caller: admin credential or client secret, hashed once → 401 / 403;
 *   5. body, counted while it streams → 413;
 *   6. the handler; its typed errors map to statuses (http-error.ts), anything else is a 500
 *      whose details go to the log only.
 * One debug line per request: method, path without query, status, ms, client name. Never the
 * Authorization header, never a body.
 *
 * Hot path (`GET …/token` with a fresh token): one pass over the raw headers, one SHA-256, one
 * constant-time scan, one await of the keeper's already-settled promise, one JSON string. No
 * closures are created per request (tsx's keepNames makes every closure creation cost a
 * defineProperty), and the log line is only built when debug logging is on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { silentLogger, type Logger } from '../core/ports.js';
import { bearerOf, digestOf } from './bearer.js';
import { adminOnly, HttpError, httpErrorOf, internalError, unauthorized } from './http-error.js';
import { isAllowedHost } from './loopback.js';
import { bodyTooLarge, readBody } from './request-body.js';
import { scanHeaders } from './request-headers.js';
import { STREAMED, type Call, type Reply, type ServiceDeps } from './route.js';
import type { Router } from './router.js';

export interface RequestHandlerOptions {
  readonly maxBodyBytes: number;
  /** Extra Host values accepted on this listener (the socket's own path). */
  readonly socketHosts?: ReadonlySet<string> | undefined;
}

interface Context {
  readonly deps: ServiceDeps;
  readonly router: Router;
  readonly maxBodyBytes: number;
  readonly socketHosts: ReadonlySet<string> | undefined;
  readonly debug: () => boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

const browserRefused = (): HttpError =>
  new HttpError(
    403,
    'browser_request_refused',
    'Requests from web browsers are refused (Origin or Sec-Fetch-* header present).',
  );
const hostRefused = (): HttpError =>
  new HttpError(403, 'host_not_allowed', 'The Host header must be localhost, 127.0.0.1 or [::1].');

export function createRequestHandler(
  deps: ServiceDeps,
  router: Router,
  options: RequestHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const ctx: Context = {
    deps,
    router,
    maxBodyBytes: options.maxBodyBytes,
    socketHosts: options.socketHosts,
    debug: debugCheck(deps.log),
  };
  return (req, res) => void serve(ctx, req, res);
}

/** Never rejects: every failure becomes an answer (or a closed connection). */
async function serve(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const start = ctx.debug() ? performance.now() : 0;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let call: Call | undefined;
  let close = false;
  try {
    const h = scanHeaders(req.rawHeaders);
    if (h.browser) throw browserRefused();
    if (!isAllowedHost(h.host, ctx.socketHosts)) throw hostRefused();
    if (h.duplicate) throw new HttpError(400, 'bad_request', 'A header that must appear once was repeated.');
    const hasBody =
      h.transferEncoding !== undefined || (h.contentLength !== undefined && h.contentLength !== '0');
    if (hasBody && h.contentLength !== undefined && Number(h.contentLength) > ctx.maxBodyBytes) {
      close = true; // the body will not be read; do not keep a half-read connection
      throw bodyTooLarge(ctx.maxBodyBytes);
    }
    const match = ctx.router.match(req.method ?? 'GET', path);
    const route = match.route;
    call = {
      req,
      res,
      deps: ctx.deps,
      headers: h,
      path,
      query: q === -1 ? '' : url.slice(q + 1),
      params: match.params,
      client: undefined,
      admin: false,
      body: undefined,
    };
    if (route.access === 'client' || route.access === 'admin') {
      const bearer = bearerOf(h.authorization);
      if (bearer === undefined) throw unauthorized();
      const digest = digestOf(bearer);
      // Both checks always run: the time taken does not say which kind of secret was sent.
      const admin = ctx.deps.admin.matchesDigest(digest);
      const client = ctx.deps.clients.authenticateDigest(digest);
      if (admin) call.admin = true;
      else if (client === undefined) throw unauthorized();
      else if (route.access === 'admin') throw adminOnly();
      else call.client = client;
    }
    if (hasBody) {
      try {
        call.body = await readBody(req, ctx.maxBodyBytes);
      } catch (error) {
        if (!(error instanceof HttpError)) {
          res.destroy(); // the client went away mid-body
          return;
        }
        close = true;
        throw error;
      }
    }
    const result = route.handler(call);
    if (result === STREAMED) {
      logLine(ctx, req, path, 200, start, call);
      return;
    }
    const reply = result instanceof Promise ? await result : result;
    if (res.destroyed) return;
    send(res, reply, close);
    logLine(ctx, req, path, reply.status, start, call);
  } catch (error) {
    let http = httpErrorOf(error, ctx.deps.now());
    if (!http) {
      ctx.deps.log.error({ method: req.method, path, error: describe(error) }, 'request failed');
      http = internalError();
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    send(res, { status: http.status, body: http.toBody(), headers: http.headers }, close);
    logLine(ctx, req, path, http.status, start, call);
  }
}

function send(res: ServerResponse, reply: Reply, close: boolean): void {
  const headers: (string | number)[] = [
    'content-type',
    JSON_TYPE,
    'content-length',
    Buffer.byteLength(reply.body),
    'cache-control',
    'no-store',
  ];
  if (reply.headers !== undefined) for (const key in reply.headers) headers.push(key, reply.headers[key]!);
  if (close) headers.push('connection', 'close');
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

function logLine(
  ctx: Context,
  req: IncomingMessage,
  path: string,
  status: number,
  start: number,
  call: Call | undefined,
): void {
  if (!ctx.debug()) return;
  ctx.deps.log.debug(
    {
      method: req.method,
      path,
      status,
      ms: Math.round((performance.now() - start) * 100) / 100,
      ...(call?.client ? { client: call.client.name } : call?.admin ? { client: 'admin' } : {}),
    },
    'request',
  );
}

/**
 * Whether debug lines are wanted right now. A Logger may expose pino's `isLevelEnabled`, directly
 * or as `.pino` (main/runtime/logger.ts); without it every line is built.
 */
function debugCheck(log: Logger): () => boolean {
  if (log === silentLogger) return () => false;
  type LevelAware = { isLevelEnabled?: (level: string) => boolean };
  const target = (log as LevelAware).isLevelEnabled
    ? (log as LevelAware)
    : (log as { pino?: LevelAware }).pino;
  const check = target?.isLevelEnabled;
  if (typeof check !== 'function') return () => true;
  return () => check.call(target, 'debug');
}

function describe(error: unknown): { name: string; message: string; stack?: string | undefined } {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: typeof error, message: String(error) };
}
