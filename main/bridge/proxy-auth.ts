/**
 * Who may use the bridge: `Proxy-Authorization: Basic` with any user name and a broker client
 * secret (the token service's, main/service/client-registry.ts) as the password, i.e. AList runs
 * with `HTTPS_PROXY=http://alist:SECRET@127.0.0.1:5288`. Go's net/http (so resty and x/oauth2 too)
 * sends the proxy URL's userinfo as that header on every CONNECT and on every plain proxy request.
 *
 * Any registered client may use the bridge; which accounts it may use is still checked per token
 * call. The admin credential is refused: it must never end up in another program's environment.
 * Nothing is cached: every check hashes the password once and walks every stored hash in constant
 * time (ClientRegistry.authenticateDigest), so a revoked client is refused on its next request.
 */
import type { Client, ClientRegistry } from '../service/client-registry.js';
import { digestOf } from '../service/bearer.js';
import { Secret } from '../core/secret.js';

/** The realm of the bridge's `Proxy-Authenticate` challenge. */
export const PROXY_REALM = 'pikpak-token-broker';
export const PROXY_AUTHENTICATE = `Basic realm="${PROXY_REALM}"`;

export interface ProxyAuthDeps {
  /** Only `authenticateDigest` is used. */
  readonly clients: Pick<ClientRegistry, 'authenticateDigest'>;
  /** When set, the admin credential is recognised so that it can be refused with a clear message. */
  readonly isAdmin?: ((digest: Buffer) => boolean) | undefined;
}

/** A request whose proxy credentials name a client of the broker. */
export interface ProxyClient {
  readonly client: Client;
  /** The client secret as presented (for token calls that take the proxy credentials as the client). */
  readonly secret: Secret;
  /** Its SHA-256: what a long-lived connection re-checks per request. */
  readonly digest: Buffer;
}

export type ProxyAuthResult =
  | { readonly ok: true; readonly proxy: ProxyClient }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'unknown' | 'admin' };

/** The password of a `Basic` credential (RFC 7617), or undefined when the header is not one. */
export function basicPasswordOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^basic[ \t]+([A-Za-z0-9+/=_-]{1,1024})[ \t]*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const password = decoded.slice(colon + 1);
  return password.length > 0 ? password : undefined;
}

/** Checks a request's `Proxy-Authorization` header against the client registry. */
export function authenticateProxy(header: string | undefined, deps: ProxyAuthDeps): ProxyAuthResult {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const password = basicPasswordOf(header);
  if (password === undefined) return { ok: false, reason: 'malformed' };
  const digest = digestOf(password);
  const client = deps.clients.authenticateDigest(digest);
  if (!client) return { ok: false, reason: deps.isAdmin?.(digest) ? 'admin' : 'unknown' };
  return { ok: true, proxy: { client, secret: new Secret(password), digest } };
}

/** Whether the client behind an earlier check still exists (a long-lived connection, per request). */
export function stillAuthorized(proxy: ProxyClient, deps: ProxyAuthDeps): boolean {
  return deps.clients.authenticateDigest(proxy.digest) !== undefined;
}

/** The body of a 407: what happened and what to do; never echoes what was sent. */
export function proxyAuthMessage(reason: 'missing' | 'malformed' | 'unknown' | 'admin' | 'revoked'): string {
  const how =
    'Set HTTPS_PROXY=http://alist:SECRET@HOST:PORT, where SECRET is a client secret of the broker ' +
    '(pikpak-token-broker clients add NAME --account ACCOUNT).';
  switch (reason) {
    case 'missing':
      return `The AList bridge of pikpak-token-broker needs proxy credentials. ${how}`;
    case 'malformed':
      return `The AList bridge takes Basic proxy credentials only. ${how}`;
    case 'unknown':
      return `Unknown or revoked client secret in the proxy credentials. ${how}`;
    case 'admin':
      return `The admin credential is not accepted as proxy credentials; create a client. ${how}`;
    case 'revoked':
      return `The client of this connection was revoked. ${how}`;
  }
}
