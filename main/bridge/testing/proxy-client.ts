/**
 * Test clients for the bridge: a raw CONNECT (to see exactly what the proxy answers), and HTTPS
 * requests through a CONNECT tunnel, the way Go's net/http does when HTTPS_PROXY is set.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';

export interface ConnectResult {
  readonly socket: Socket;
  /** The proxy's status line and headers, as sent. */
  readonly head: string;
  readonly status: number;
  /** Bytes that came after the head (a tunnel's first bytes, or an error body). */
  readonly rest: Buffer;
}

/** `Proxy-Authorization: Basic` with user `alist` and `secret` as the password, as Go sends it. */
export function proxyAuthorization(secret: string, user = 'alist'): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/**
 * Sends `CONNECT target` (plus `extra` bytes in the same write) and reads the proxy's answer head.
 * `secret` is sent as the proxy credentials' password; undefined sends none.
 */
export function rawConnect(
  proxyPort: number,
  target: string,
  secret: string | undefined,
  extra: Buffer = Buffer.alloc(0),
): Promise<ConnectResult> {
  const auth = secret === undefined ? '' : `Proxy-Authorization: ${proxyAuthorization(secret)}\r\n`;
  return sendRaw(
    proxyPort,
    Buffer.concat([Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`), extra]),
  );
}

/** Writes `bytes` to the proxy and reads one answer head (rejects if the socket closes first). */
export function sendRaw(proxyPort: number, bytes: Buffer | string): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxyPort });
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      const head = buffer.subarray(0, end).toString('latin1');
      resolve({
        socket,
        head,
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        rest: buffer.subarray(end + 4),
      });
    };
    const onClose = (): void =>
      reject(new Error(`the proxy closed the connection without an answer (got ${buffer.length} bytes)`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', reject);
    socket.write(bytes);
  });
}

/** Reads what is left on a socket until it closes. */
export function readToEnd(socket: Socket, initial: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks = [initial];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.once('error', () => undefined);
    socket.resume();
  });
}

export interface ThroughOptions {
  readonly host: string;
  readonly port?: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** CA to trust for the TLS peer (the bridge's CA for intercepted hosts, the emulator's for tunnels). */
  readonly ca: string;
  /** The proxy credentials' password (a client secret); undefined sends none. */
  readonly proxySecret: string | undefined;
}

export interface ThroughResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly json: unknown;
  readonly peer: PeerCertificate;
}

/** Opens a TLS connection to `host:port` through the proxy (CONNECT), verifying against `ca`. */
export async function tlsThrough(
  proxyPort: number,
  host: string,
  port: number,
  ca: string,
  proxySecret: string | undefined,
): Promise<TLSSocket> {
  const tunnel = await rawConnect(proxyPort, `${host}:${port}`, proxySecret);
  if (tunnel.status !== 200) {
    tunnel.socket.destroy();
    throw new Error(`CONNECT ${host}:${port} answered ${tunnel.head.split('\r\n')[0]}`);
  }
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket: tunnel.socket,
      servername: host,
      ca,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
}

/** One HTTPS request through the proxy on its own tunnel. */
export async function httpsThrough(proxyPort: number, options: ThroughOptions): Promise<ThroughResult> {
  const tls = await tlsThrough(proxyPort, options.host, options.port ?? 443, options.ca, options.proxySecret);
  const peer = tls.getPeerCertificate();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: options.host,
        port: options.port ?? 443,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        path: options.path,
        headers: {
          host: (options.port ?? 443) === 443 ? options.host : `${options.host}:${options.port}`,
          ...options.headers,
        },
        // No agent: with `createConnection`, node:https uses exactly this (tunnelled) socket.
        createConnection: () => tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            json = undefined;
          }
          tls.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json, peer });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A plain-HTTP proxy request (absolute-form), as a client with HTTP_PROXY sends it. */
export function httpThrough(
  proxyPort: number,
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    proxySecret: string | undefined;
  },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        path: url,
        headers: {
          host: new URL(url).host,
          ...(options.proxySecret === undefined
            ? {}
            : { 'proxy-authorization': proxyAuthorization(options.proxySecret) }),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
