/**
 * An axios instance whose adapter is a function: tests script PikPak's answers (or transport
 * failures) without a socket, and see every request exactly as axios would have sent it.
 */
import axios, { AxiosError, AxiosHeaders, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';

export interface SentRequest {
  method: string;
  /** Full URL with the query, as axios would put it on the wire. */
  url: string;
  headers: Record<string, string>;
  /** The raw body string, parsed as JSON when it is JSON. */
  body: unknown;
  rawBody: string | undefined;
  /** The config axios handed to the adapter (holds the revealed body: test-only). */
  config: InternalAxiosRequestConfig;
}

export interface FakeAnswer {
  status: number;
  data?: unknown;
  headers?: Record<string, string>;
}

export type FakeHandler = (request: SentRequest) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeHttp {
  instance: AxiosInstance;
  sent: SentRequest[];
}

/** Answers every request with `handler`; a handler may throw (e.g. `transportError(...)`). */
export function fakeHttp(handler: FakeHandler): FakeHttp {
  const sent: SentRequest[] = [];
  const instance = axios.create({
    adapter: async (config) => {
      const rawBody = typeof config.data === 'string' ? config.data : undefined;
      let body: unknown = rawBody;
      try {
        body = rawBody === undefined ? undefined : (JSON.parse(rawBody) as unknown);
      } catch {
        // keep the raw string
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
        if (typeof value === 'string') headers[key.toLowerCase()] = value;
      }
      const request: SentRequest = {
        method: (config.method ?? 'get').toUpperCase(),
        url: axios.getUri(config),
        headers,
        body,
        rawBody,
        config,
      };
      sent.push(request);
      const answer = await handler(request);
      return {
        status: answer.status,
        statusText: String(answer.status),
        headers: AxiosHeaders.from(answer.headers ?? { 'content-type': 'application/json' }),
        data: answer.data,
        config,
        request: {},
      };
    },
  });
  return { instance, sent };
}

/** An AxiosError like the http adapter throws for a failed socket: its config holds the body. */
export function transportError(request: SentRequest, code: string, message = `${code} (fake)`): AxiosError {
  return new AxiosError(message, code, request.config, {});
}

/** JSON answer helper. */
export function json(status: number, value: unknown, headers: Record<string, string> = {}): FakeAnswer {
  return { status, data: JSON.stringify(value), headers: { 'content-type': 'application/json', ...headers } };
}

/**
 * Waits until the request's signal aborts, then fails the way axios does (CanceledError). Like an
 * open socket, it keeps the event loop alive meanwhile (the client's own timers are unref'd).
 */
export function hangUntilAborted(request: SentRequest): Promise<never> {
  return new Promise((_resolve, reject) => {
    const signal = request.config.signal as AbortSignal | undefined;
    if (!signal) return;
    const socketLike = setInterval(() => {}, 1000);
    const fail = () => {
      clearInterval(socketLike);
      reject(new axios.CanceledError(undefined, request.config));
    };
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
