/**
 * The soak's plain HTTP client: one request over a Unix socket (the token service) or TCP (the
 * emulator's drive API), on a keep-alive agent the caller owns, with a deadline and an abort signal.
 * Failures reject with a `code` that names them: `timeout`, `aborted`, or the socket error's code.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { readResponse } from '../../main/service/testing/read-response.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  readonly json: unknown;
}

export interface HttpCall {
  /** A Unix socket path, or `http://host:port` (everything before the path). */
  readonly target: { socketPath: string } | { base: string };
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly form?: Record<string, string>;
  readonly agent: Agent;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export class HttpCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpCallError';
  }
}

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 4 });
}

export function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...call.headers };
  let body: Buffer | undefined;
  if (call.json !== undefined) {
    body = Buffer.from(JSON.stringify(call.json));
    headers['content-type'] = 'application/json';
  } else if (call.form) {
    body = Buffer.from(new URLSearchParams(call.form).toString());
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (body) headers['content-length'] = String(body.length);
  const where =
    'socketPath' in call.target
      ? { socketPath: call.target.socketPath, host: 'localhost' }
      : (() => {
          const url = new URL(call.target.base);
          return { host: url.hostname, port: Number(url.port) };
        })();
  return new Promise((resolve, reject) => {
    if (call.signal?.aborted) return reject(new HttpCallError('aborted', 'aborted before the request'));
    let settled = false;
    const finish = (error: HttpCallError | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(answer!);
    };
    const req = request(
      {
        ...where,
        method: call.method ?? (body ? 'POST' : 'GET'),
        path: call.path,
        headers,
        agent: call.agent,
      },
      (res) => {
        readResponse(res).then(
          (answer) => finish(undefined, answer),
          (error: NodeJS.ErrnoException) =>
            finish(new HttpCallError(error.code ?? 'response-error', error.message)),
        );
      },
    );
    const timer = setTimeout(() => {
      finish(new HttpCallError('timeout', `no answer within ${call.timeoutMs} ms`));
      req.destroy();
    }, call.timeoutMs);
    const onAbort = (): void => {
      finish(new HttpCallError('aborted', 'aborted'));
      req.destroy();
    };
    call.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish(new HttpCallError(error.code ?? 'request-error', error.message)),
    );
    req.end(body);
  });
}

/** A pause that ends early (without throwing) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
