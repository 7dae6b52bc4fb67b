/**
 * Test clients for the service: `call` for ordinary requests over the Unix socket (or TCP) with
 * full control of headers, `rawExchange` for byte-level requests (slow clients, bad framing),
 * and `openEvents` for the event stream.
 */
import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readResponse } from './read-response.js';

export interface Target {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

export interface CallOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly bearer?: string;
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  /** Send the body with chunked transfer-encoding (no Content-Length). */
  readonly chunked?: boolean;
  /** false: send no Host header at all. */
  readonly setHost?: boolean;
  readonly agent?: Agent | false;
}

export interface CallResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function call(target: Target, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: OutgoingHttpHeaders = { ...options.headers };
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body))
      payload = Buffer.from(options.body);
    else {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    if (!options.chunked) headers['content-length'] ??= payload.length;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
        path,
        method: options.method ?? (payload ? 'POST' : 'GET'),
        headers,
        setHost: options.setHost ?? true,
        agent: options.agent ?? false,
      },
      (res) => void readResponse(res).then(resolve, reject),
    );
    req.on('error', reject);
    if (payload && options.chunked) {
      // Several chunks, so the server sees a streamed body.
      for (let at = 0; at < payload.length; at += 16 * 1024) req.write(payload.subarray(at, at + 16 * 1024));
      req.end();
    } else req.end(payload);
  });
}

/** Writes raw bytes and collects everything the server sends until it closes. */
export function rawExchange(
  target: Target,
  write: (socket: Socket) => Promise<void> | void,
): Promise<{ text: string; closed: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = target.socketPath ? connect(target.socketPath) : connect(target.port!, target.host);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () =>
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closed: true, ...(error ? { error } : {}) }),
    );
    socket.once('connect', () => {
      void (async () => {
        try {
          await write(socket);
        } catch (e) {
          error = (e as Error).message;
        }
      })();
    });
  });
}

export interface SseEvent {
  readonly event: string;
  readonly data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface EventStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly events: SseEvent[];
  /** Raw text received so far (comments and `retry:` lines included). */
  raw(): string;
  /** Resolves with the first event (from the start of the stream) that matches. */
  waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export function openEvents(target: Target, bearer: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
        path: '/v1/events',
        headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream' },
        agent: false,
      },
      (res) => {
        const events: SseEvent[] = [];
        const waiters = new Set<() => void>();
        let raw = '';
        let pending = '';
        let endResolve!: () => void;
        const ended = new Promise<void>((r) => (endResolve = r));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          pending += chunk;
          let at: number;
          while ((at = pending.indexOf('\n\n')) !== -1) {
            const block = pending.slice(0, at);
            pending = pending.slice(at + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) events.push({ event, data: JSON.parse(data) });
          }
          for (const w of waiters) w();
        });
        res.on('end', endResolve);
        res.on('close', endResolve);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          raw: () => raw,
          ended,
          waitFor(match, timeoutMs = 3000) {
            return new Promise((ok, fail) => {
              const check = (): boolean => {
                const found = events.find(match);
                if (!found) return false;
                waiters.delete(check);
                clearTimeout(timer);
                ok(found);
                return true;
              };
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
              }, timeoutMs);
              if (!check()) waiters.add(check);
            });
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
