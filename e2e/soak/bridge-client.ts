/**
 * HTTPS through the AList bridge the way a Node program with a proxy agent does it: CONNECT
 * host:443 with proxy credentials, TLS inside the tunnel (verified against `ca`), one request, close. Used by the soak's
 * Node bridge consumers when Go is not installed. Deadline and abort like http-client.ts.
 */
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tlsThrough } from '../../main/bridge/testing/proxy-client.js';
import { readResponse } from '../../main/service/testing/read-response.js';
import { HttpCallError, type HttpAnswer } from './http-client.js';

export interface BridgeCall {
  readonly proxyPort: number;
  readonly host: string;
  readonly path: string;
  readonly ca: string;
  /** The proxy credentials' password: the consumer's client secret, as AList's HTTPS_PROXY carries it. */
  readonly proxySecret: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export async function callThroughBridge(call: BridgeCall): Promise<HttpAnswer> {
  if (call.signal?.aborted) throw new HttpCallError('aborted', 'aborted before the request');
  let socket: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      socket?.destroy();
      reject(new HttpCallError('timeout', `no answer within ${call.timeoutMs} ms`));
    }, call.timeoutMs);
    onAbort = () => {
      socket?.destroy();
      reject(new HttpCallError('aborted', 'aborted'));
    };
    call.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const exchange = (async (): Promise<HttpAnswer> => {
    try {
      socket = await tlsThrough(call.proxyPort, call.host, 443, call.ca, call.proxySecret);
    } catch (error) {
      throw new HttpCallError('connect', (error as Error).message);
    }
    const tls = socket;
    const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = request(
        {
          host: call.host,
          method: body ? 'POST' : 'GET',
          path: call.path,
          headers: {
            host: call.host,
            ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
            ...call.headers,
          },
          createConnection: () => tls,
        },
        (res) => {
          readResponse(res).then(
            (answer) => {
              tls.destroy();
              resolve(answer);
            },
            (e: NodeJS.ErrnoException) => reject(new HttpCallError(e.code ?? 'response-error', e.message)),
          );
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(new HttpCallError(e.code ?? 'request-error', e.message)),
      );
      req.end(body);
    });
  })();
  try {
    return await Promise.race([exchange, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) call.signal?.removeEventListener('abort', onAbort);
    exchange.catch(() => undefined);
    stop.catch(() => undefined);
    socket?.destroy();
  }
}
