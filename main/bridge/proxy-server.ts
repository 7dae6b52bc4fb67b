/**
 * The AList bridge: an HTTP proxy on loopback for AList's `HTTPS_PROXY`.
 *
 *   no valid Proxy-Authorization (a broker client secret) ─▶ 407, nothing dialled or forwarded
 *   CONNECT user.mypikpak.{com,net}:443 ─▶ TLS terminated with a leaf of the broker's local CA
 *        ├─ POST /v1/auth/token, /v1/auth/signin ─▶ answered from the broker (answerPikPakAuthCall)
 *        ├─ another spelling of those paths (`;x`, `%2e`, `..`, `//`, case) ─▶ 400, never forwarded
 *        └─ anything else ─▶ forwarded to the upstream auth host over HTTPS, unchanged
 *   CONNECT any other host:port ─▶ TCP tunnel, bytes piped both ways, never decrypted
 *   GET http://host/… (absolute-form) ─▶ forwarded (token calls on an auth host answered as above)
 *   anything else (origin-form, bad CONNECT, garbage, oversized headers) ─▶ 4xx and close
 *
 * One node:http server parses both the proxy's own requests and the requests inside intercepted TLS
 * connections (each TLS socket is handed to it with `emit('connection')`), so header size limits,
 * header and request timeouts and keep-alive rules are the same everywhere. Tunnels are tracked
 * separately (they leave HTTP parsing at CONNECT) and have their own connect and idle timeouts.
 *
 * Credentials are checked on every CONNECT and every plain proxy request, and again on every
 * request inside an intercepted connection (against the CONNECT's credentials). Tunnels carry
 * bytes we cannot read, so a sweep every `revocationCheckMs` closes the tunnels and intercepted
 * connections of a client that was revoked.
 */
import { Agent as HttpAgent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Duplex as DuplexStream, type Duplex } from 'node:stream';
import { createSecureContext, rootCertificates, TLSSocket } from 'node:tls';
import type { Logger } from '../core/ports.js';
import { AUTH_HOSTS } from '../pikpak/protocol.js';
import type { PikPakCompatDeps } from '../service/pikpak-compat.js';
import { formatAddress } from '../service/loopback.js';
import {
  answerFromBroker,
  classifyAuthPath,
  forwardUpstream,
  splitTarget,
  type AuthHostDeps,
} from './auth-host.js';
import { parseBridgeAddress } from './errors.js';
import { formatHostPort, parseAuthority, rawResponse, type HostPort } from './http-util.js';
import { LeafCache } from './leaf-cache.js';
import { LocalCa } from './local-ca.js';
import {
  authenticateProxy,
  PROXY_AUTHENTICATE,
  proxyAuthMessage,
  stillAuthorized,
  type ProxyAuthDeps,
  type ProxyClient,
} from './proxy-auth.js';
import { openTunnel } from './tunnel.js';

export interface BridgeLimits {
  /** Largest request head (request line and headers), in bytes; larger gets 431. */
  readonly maxHeaderBytes: number;
  /** Time to receive a request's headers (slow-loris guard), inside TLS too. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request. */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Body limit of the calls answered from the broker. */
  readonly maxBodyBytes: number;
  /** Open client connections (proxy requests, intercepted TLS and tunnels); more are refused. */
  readonly maxConnections: number;
  /** Time to set up a tunnel's TCP connection. */
  readonly connectTimeoutMs: number;
  /** A tunnel with no traffic for this long is closed. */
  readonly tunnelIdleTimeoutMs: number;
  /** An upstream request that shows no progress for this long fails with 504. */
  readonly upstreamTimeoutMs: number;
  /** On close, how long requests in flight may take before their connections are cut. */
  readonly closeGraceMs: number;
  /** How often open tunnels and intercepted connections are checked for a revoked client. */
  readonly revocationCheckMs: number;
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
  maxBodyBytes: 64 * 1024,
  maxConnections: 512,
  connectTimeoutMs: 10_000,
  tunnelIdleTimeoutMs: 10 * 60_000,
  upstreamTimeoutMs: 30_000,
  closeGraceMs: 2_000,
  revocationCheckMs: 1_000,
};

export interface BridgeUpstream {
  /**
   * Where intercepted auth-host requests other than token/sign-in go (scheme, host, port). Default:
   * `https://<the host AList asked for>`, i.e. PikPak itself. Tests point it at the emulator.
   */
  readonly authBaseUrl?: string | undefined;
  /** An extra CA certificate (PEM) to trust upstream, besides the public roots (the emulator's). */
  readonly caCertPem?: string | undefined;
  /**
   * `host:port` → `host:port` for tunnels and plain-HTTP forwards, e.g.
   * `{'api-drive.mypikpak.net:443': '127.0.0.1:8443'}` to send PikPak's drive host to the emulator.
   */
  readonly tunnelOverrides?: Readonly<Record<string, string>> | undefined;
}

export interface BridgeOptions {
  /** `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT` (port 0 picks one); anything else throws BridgeAddressError. */
  readonly listen: string;
  /** What the token service's PikPak-compatible endpoint needs: broker, client registry, clock, log. */
  readonly compat: PikPakCompatDeps;
  /** The local CA (LocalCa.loadOrCreate). */
  readonly ca: LocalCa;
  /** Leaf certificates; default a LeafCache over `ca` (24 h leaves). */
  readonly leaves?: LeafCache;
  readonly upstream?: BridgeUpstream;
  /** Hosts whose CONNECT on port 443 is intercepted; default PikPak's auth hosts. */
  readonly interceptHosts?: readonly string[];
  readonly log: Logger;
  readonly limits?: Partial<BridgeLimits>;
}

export interface BridgeStats {
  /** CONNECT requests received (valid or not). */
  readonly connects: number;
  /** TLS connections terminated by the bridge (CONNECT to an auth host). */
  readonly intercepted: number;
  /** Token and sign-in calls answered from the broker. */
  readonly answered: number;
  /** Requests forwarded upstream (inside intercepted connections, or plain-HTTP proxy requests). */
  readonly forwarded: number;
  /** Tunnels opened (CONNECT to any other host). */
  readonly tunnels: number;
  /** Requests refused: bad CONNECT targets, non-proxy requests, garbage, oversized heads, 407s. */
  readonly refused: number;
  /** Of those, refused with 407 (no valid proxy credentials, or a revoked client). */
  readonly unauthorized: number;
  /** Token-path spellings refused with 400 instead of being forwarded. */
  readonly oddTokenPaths: number;
  /** Tunnels and intercepted connections closed because their client was revoked. */
  readonly revokedConnections: number;
}

export interface Bridge {
  /** `127.0.0.1:PORT`: the port actually bound. */
  readonly address: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT`: AList's HTTPS_PROXY, with `alist:SECRET@` (a client secret) after `http://`. */
  readonly proxyUrl: string;
  readonly ca: LocalCa;
  stats(): BridgeStats;
  /** Stops listening, lets requests in flight finish (up to closeGraceMs), closes tunnels. */
  close(): Promise<void>;
}

type Counter = { -readonly [K in keyof BridgeStats]: number };

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const limits: BridgeLimits = { ...DEFAULT_BRIDGE_LIMITS, ...options.limits };
  const listen = parseBridgeAddress(options.listen);
  const { log, ca } = options;
  const interceptHosts = new Set((options.interceptHosts ?? AUTH_HOSTS).map((h) => h.toLowerCase()));
  for (const host of interceptHosts)
    if (!LocalCa.covers(host)) throw new TypeError(`the bridge's CA cannot sign for "${host}"`);
  const leaves = options.leaves ?? new LeafCache(ca);
  const authBase = options.upstream?.authBaseUrl ? parseBase(options.upstream.authBaseUrl) : undefined;
  const overrides = parseOverrides(options.upstream?.tunnelOverrides ?? {});
  const extraCa = options.upstream?.caCertPem;
  // The extra CA goes in through a ready-made context: as an `ca` option, https.Agent would join
  // the ~150 public root certificates into its pool key on every request (measured: +5 ms a call).
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 64,
    ...(extraCa ? { secureContext: createSecureContext({ ca: [...rootCertificates, extraCa] }) } : {}),
  });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });

  const counter: Counter = {
    connects: 0,
    intercepted: 0,
    answered: 0,
    forwarded: 0,
    tunnels: 0,
    refused: 0,
    unauthorized: 0,
    oddTokenPaths: 0,
    revokedConnections: 0,
  };
  const proxyAuth: ProxyAuthDeps = { clients: options.compat.clients, isAdmin: options.compat.isAdmin };
  const deps: AuthHostDeps = {
    compat: options.compat,
    httpsAgent,
    httpAgent,
    maxBodyBytes: limits.maxBodyBytes,
    upstreamTimeoutMs: limits.upstreamTimeoutMs,
    log,
    count: (what) => (counter[what] += 1),
  };
  /** Intercepted TLS sockets → the CONNECT target they stand for and the client that opened them. */
  const intercepted = new WeakMap<object, { target: HostPort; proxy: ProxyClient }>();
  /** Open tunnels → their client. */
  const tunnels = new Map<Duplex, ProxyClient>();
  /** The raw client sockets under intercepted TLS connections (the server tracks only the TLS side). */
  const interceptedRaw = new Map<Duplex, ProxyClient>();
  let closing = false;

  const refuse = (socket: Duplex, status: number, message: string): void => {
    counter.refused += 1;
    rawResponse(socket, status, message);
  };

  const unauthorized = (socket: Duplex, message: string): void => {
    counter.refused += 1;
    counter.unauthorized += 1;
    rawResponse(socket, 407, message, { 'Proxy-Authenticate': PROXY_AUTHENTICATE });
  };

  /** A 407 through node:http (plain proxy requests, requests inside intercepted connections). */
  function unauthorizedRequest(res: ServerResponse, message: string): void {
    counter.unauthorized += 1;
    refuseRequest(res, 407, `${message}\n`, { 'proxy-authenticate': PROXY_AUTHENTICATE });
  }

  /** Closes what a revoked client still holds open: tunnels, and intercepted connections between requests. */
  function sweepRevoked(): void {
    for (const [sockets, kind] of [
      [tunnels, 'tunnel'],
      [interceptedRaw, 'intercepted connection'],
    ] as const) {
      for (const [socket, proxy] of sockets) {
        if (stillAuthorized(proxy, proxyAuth)) continue;
        counter.revokedConnections += 1;
        log.info(
          { client: proxy.client.name, kind },
          `bridge: closed a ${kind} of revoked client "${proxy.client.name}"`,
        );
        sockets.delete(socket);
        socket.destroy();
      }
    }
  }

  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => onRequest(req, res),
  );
  server.maxConnections = limits.maxConnections;

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A throw here would escape node:http's parser and end the process (the whole broker).
    try {
      const inside = intercepted.get(req.socket);
      if (inside) return handleInside(req, res, inside);
      handlePlain(req, res);
    } catch (error) {
      log.error({ error: (error as Error).message }, 'bridge: a request failed');
      if (res.headersSent) return void res.destroy();
      refuseRequest(res, 500, 'the bridge failed to handle this request; its log has the details\n');
    }
  }

  /** A plain-text refusal that closes the connection. */
  function refuseRequest(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    counter.refused += 1;
    res.shouldKeepAlive = false;
    res.writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** 400 for a token path written another way; its body (a client secret, likely) is never read. */
  function refuseOddTokenPath(res: ServerResponse, host: string, pathname: string): void {
    counter.oddTokenPaths += 1;
    log.warn({ host, path: pathname.slice(0, 200) }, 'bridge: refused a token path written another way');
    refuseRequest(
      res,
      400,
      'The AList bridge answers only /v1/auth/token and /v1/auth/signin written exactly so; ' +
        'this request names one of them another way and is not forwarded.\n',
    );
  }

  /** A request inside an intercepted TLS connection to an auth host. */
  function handleInside(
    req: IncomingMessage,
    res: ServerResponse,
    { target, proxy }: { target: HostPort; proxy: ProxyClient },
  ): void {
    // The CONNECT's credentials, checked again: a client revoked since then gets no further request.
    if (!stillAuthorized(proxy, proxyAuth)) {
      req.resume();
      return unauthorizedRequest(res, proxyAuthMessage('revoked'));
    }
    let parts: ReturnType<typeof splitTarget>;
    try {
      parts = splitTarget(req.url ?? '/');
    } catch {
      // A target llhttp lets through but no URL parser accepts (`http://[/`): nothing to do with it.
      return refuseRequest(res, 400, 'malformed request target\n');
    }
    const { pathname, pathAndQuery } = parts;
    const where = { host: target.host, pathname, pathAndQuery };
    const verdict = classifyAuthPath(req.url ?? '/');
    if (verdict === 'refuse') return refuseOddTokenPath(res, target.host, pathname);
    if (verdict === 'answer')
      return void answerFromBroker(req, res, where, deps, proxy.secret).catch(() => res.destroy());
    const base = authBase ?? new URL(`https://${target.port === 443 ? target.host : formatHostPort(target)}`);
    forwardUpstream(req, res, base, where, deps);
  }

  /** A request to the proxy itself: only absolute-form `http://` requests are proxy requests. */
  function handlePlain(req: IncomingMessage, res: ServerResponse): void {
    const url = absoluteHttpUrl(req.url);
    if (!url) {
      return refuseRequest(
        res,
        400,
        'This is the AList bridge of pikpak-token-broker, an HTTP proxy. ' +
          `Point AList at it with HTTPS_PROXY=http://alist:SECRET@${address} (SECRET: a client ` +
          'secret, from pikpak-token-broker clients add); it serves nothing itself.\n',
      );
    }
    const auth = authenticateProxy(req.headers['proxy-authorization'], proxyAuth);
    if (!auth.ok) {
      log.debug({ reason: auth.reason }, 'bridge: refused a proxy request without valid credentials');
      return unauthorizedRequest(res, proxyAuthMessage(auth.reason));
    }
    // URL keeps an IPv6 literal's brackets (`[::1]`); HostPort holds it without them.
    const host = url.hostname
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '');
    const target: HostPort = { host, port: Number(url.port || 80) };
    const where = { host: url.host, pathname: url.pathname, pathAndQuery: url.pathname + url.search };
    if (interceptHosts.has(host)) {
      const verdict = classifyAuthPath(req.url ?? '/');
      if (verdict === 'refuse') return refuseOddTokenPath(res, host, url.pathname);
      if (verdict === 'answer')
        return void answerFromBroker(req, res, where, deps, auth.proxy.secret).catch(() => res.destroy());
    }
    const dial = overrides.get(formatHostPort(target)) ?? target;
    forwardUpstream(req, res, new URL(`http://${formatHostPort(dial)}`), where, deps);
  }

  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    counter.connects += 1;
    socket.on('error', () => socket.destroy());
    // Small writes (a response head, then its body; TLS records) must not wait for the peer's ACK.
    if (typeof (socket as Socket).setNoDelay === 'function') (socket as Socket).setNoDelay(true);
    if (intercepted.has(socket)) return refuse(socket, 400, 'CONNECT inside an intercepted connection');
    if (closing) return refuse(socket, 503, 'the bridge is stopping');
    const auth = authenticateProxy(req.headers['proxy-authorization'], proxyAuth);
    if (!auth.ok) {
      log.debug({ reason: auth.reason }, 'bridge: refused a CONNECT without valid credentials');
      return unauthorized(socket, proxyAuthMessage(auth.reason));
    }
    const target = parseAuthority(req.url);
    if (!target) return refuse(socket, 400, 'CONNECT needs a target of the form host:port');
    if (interceptHosts.has(target.host) && target.port === 443)
      return void intercept(socket, head, target, auth.proxy);
    counter.tunnels += 1;
    log.debug({ host: formatHostPort(target), client: auth.proxy.client.name }, 'bridge: tunnel');
    tunnels.set(socket, auth.proxy);
    openTunnel(socket, head, target, overrides.get(formatHostPort(target)) ?? target, {
      connectTimeoutMs: limits.connectTimeoutMs,
      idleTimeoutMs: limits.tunnelIdleTimeoutMs,
      onClose: () => tunnels.delete(socket),
    });
  });

  async function intercept(
    socket: Duplex,
    head: Buffer,
    target: HostPort,
    proxy: ProxyClient,
  ): Promise<void> {
    socket.pause();
    let context;
    try {
      context = await leaves.secureContext(target.host);
    } catch (error) {
      log.error(
        { host: target.host, error: (error as Error).message },
        'bridge: no certificate for an auth host',
      );
      return refuse(socket, 502, 'the bridge could not make a certificate for this host');
    }
    if (socket.destroyed) return;
    counter.intercepted += 1;
    log.debug({ host: target.host }, 'bridge: intercepting');
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // TLS reads a net.Socket's handle directly, past its JS buffer: bytes the client sent along
    // with the CONNECT (an optimistic ClientHello) need a stream that replays them first.
    const stream = head.length > 0 ? withPrefix(socket, head) : socket;
    const tls = new TLSSocket(stream as Socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ['http/1.1'],
    });
    intercepted.set(tls, { target, proxy });
    tls.on('error', () => tls.destroy());
    interceptedRaw.set(socket, proxy);
    socket.on('close', () => {
      interceptedRaw.delete(socket);
      tls.destroy();
    });
    tls.on('close', () => socket.destroy());
    server.emit('connection', tls);
    socket.resume();
  }

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    log.debug({ status, error: error.code ?? error.message }, 'bridge: refused a malformed request');
    refuse(socket, status, status === 431 ? 'request headers too large' : 'malformed request');
  });

  const bound = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  server.on('error', (error) => log.error({ error: error.message }, 'bridge: server error'));
  const sweep = setInterval(sweepRevoked, limits.revocationCheckMs);
  sweep.unref();
  const address = formatAddress(bound.address, bound.port);
  log.info(
    { address, intercept: [...interceptHosts], ...(authBase ? { upstream: authBase.origin } : {}) },
    `AList bridge listening on http://${address} (AList: HTTPS_PROXY=http://alist:SECRET@${address}, SECRET a client secret)`,
  );

  let closed: Promise<void> | undefined;
  return {
    address,
    port: bound.port,
    proxyUrl: `http://${address}`,
    ca,
    stats: () => ({ ...counter }),
    close: () =>
      (closed ??= (async () => {
        closing = true;
        clearInterval(sweep);
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          server.closeAllConnections();
          for (const socket of [...tunnels.keys(), ...interceptedRaw.keys()]) socket.destroy();
        }, limits.closeGraceMs);
        for (const socket of tunnels.keys()) socket.destroy();
        await done;
        clearTimeout(timer);
        httpsAgent.destroy();
        httpAgent.destroy();
        log.info({ address }, 'AList bridge stopped');
      })()),
  };
}

/** A duplex over `socket` whose readable side yields `prefix` first, then the socket's bytes. */
function withPrefix(socket: Duplex, prefix: Buffer): Duplex {
  const stream = new PassThroughDuplex(socket);
  stream.push(prefix);
  return stream;
}

class PassThroughDuplex extends DuplexStream {
  readonly #socket: Duplex;
  constructor(socket: Duplex) {
    super();
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }
  override _read(): void {
    this.#socket.resume();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback);
  }
  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}

/** `http://host[:port]/…` as a URL; undefined for origin-form or any other scheme. */
function absoluteHttpUrl(target: string | undefined): URL | undefined {
  if (!target || !/^http:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target);
    return url.hostname ? url : undefined;
  } catch {
    return undefined;
  }
}

function parseBase(value: string): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError(`the bridge's upstream auth base URL must be http(s), not ${url.protocol}`);
  return url;
}

function parseOverrides(map: Readonly<Record<string, string>>): Map<string, HostPort> {
  const out = new Map<string, HostPort>();
  for (const [from, to] of Object.entries(map)) {
    const source = parseAuthority(from);
    const target = parseAuthority(to);
    if (!source || !target)
      throw new TypeError(`bad tunnel override "${from}=${to}": use host:port=host:port`);
    out.set(formatHostPort(source), target);
  }
  return out;
}
