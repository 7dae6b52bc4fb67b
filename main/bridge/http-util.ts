/**
 * Small HTTP pieces the bridge needs: CONNECT targets, hop-by-hop headers, bounded bodies and
 * PikPak-shaped errors. No I/O of their own beyond the streams they are given.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Duplex } from 'node:stream';

export interface HostPort {
  /** Lower-case, without a trailing dot; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

const AUTHORITY = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}))):(\d{1,5})$/;

/** Parses CONNECT's authority-form `host:port` (or `[v6]:port`); undefined when it is not one. */
export function parseAuthority(value: string | undefined): HostPort | undefined {
  if (value === undefined || value.length > 270) return undefined;
  const match = AUTHORITY.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  if (match[1] !== undefined) return isIPv6(match[1]) ? { host: match[1].toLowerCase(), port } : undefined;
  // Empty labels are refused before the one trailing dot (an absolute name) is dropped: else
  // `localhost..` would pass as `localhost.` and be dialled.
  const name = match[2]!.toLowerCase();
  if (name.includes('..')) return undefined;
  const host = name.replace(/\.$/, '');
  if (host === '') return undefined;
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the proxy ones, never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The end-to-end headers of a message: hop-by-hop ones and those named in `Connection` removed. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request bodies are limited to ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a whole request body, rejecting with BodyTooLargeError once more than `limit` bytes came. */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) settle(new BodyTooLargeError(limit));
      else chunks.push(chunk);
    });
    req.once('end', () => settle());
    req.once('error', (error) => settle(error));
    req.once('close', () => settle(new Error('the client went away before sending its whole body')));
  });
}

/** Writes a JSON answer (PikPak's error shape or a token answer) and keeps the connection usable. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** PikPak's error body: `{error, error_code, error_description}`. */
export function pikpakError(error: string, code: number, description: string): Record<string, unknown> {
  return { error, error_code: code, error_description: `pikpak-token-broker bridge: ${description}` };
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A complete, connection-closing HTTP/1.1 answer on a raw socket (before or instead of HTTP parsing). */
export function rawResponse(
  socket: Duplex,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  // Give the answer a moment to leave, then make sure the socket is gone.
  setTimeout(() => socket.destroy(), 1000).unref();
}
