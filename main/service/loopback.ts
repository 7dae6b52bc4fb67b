/**
 * Loopback only: which `--listen` addresses the TCP listener accepts, and which `Host` headers a
 * request may carry (a browser page whose DNS name was rebound to 127.0.0.1 sends its own name
 * as Host, so anything but a loopback name is refused).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidListenAddressError } from './errors/index.js';

export interface ListenAddress {
  /** What to bind: `127.x.y.z` or `::1` (`localhost` binds 127.0.0.1, whatever the resolver says). */
  readonly host: string;
  readonly port: number;
}

/** Parses `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT`; anything else throws InvalidListenAddressError. */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([^:]*)$/.exec(value.trim());
  if (!match) throw new InvalidListenAddressError(value, 'syntax');
  const host = (match[1] ?? match[2])!.toLowerCase();
  const portText = match[3]!;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    throw new InvalidListenAddressError(value, 'port');
  if (match[1] !== undefined && !isIPv6(host)) throw new InvalidListenAddressError(value, 'syntax');
  if (!isLoopbackAddress(host)) throw new InvalidListenAddressError(value, 'not-loopback');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(portText) };
}

export function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return /^(?:0{0,4}:){2,7}0{0,3}1$/.test(host) || host === '::1';
  return false;
}

/** `127.0.0.1:8080` or `[::1]:8080`, as people (and URLs) write it. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i;

/**
 * Whether a request's `Host` header is acceptable: missing, `localhost`, `127.x.y.z` or `[::1]`,
 * with any port; on the Unix socket also the socket's own path (raw or percent-encoded), which
 * some Unix-socket HTTP clients send. One regex test: this is on every request's path.
 */
export function isAllowedHost(host: string | undefined, socketHosts?: ReadonlySet<string>): boolean {
  if (host === undefined) return true;
  if (LOOPBACK_HOST.test(host)) return true;
  return socketHosts !== undefined && socketHosts.has(host);
}

/** The Host values that name the socket itself. */
export function socketHostNames(socketPath: string): Set<string> {
  const encoded = encodeURIComponent(socketPath);
  return new Set([socketPath, encoded, encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())]);
}
