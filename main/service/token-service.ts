/**
 * The token service: HTTP/1.1 + JSON on a Unix socket (Windows: a named pipe), plus an optional
 * TCP listener on loopback. Plain node:http; the routes are in consumer-routes.ts and
 * admin-routes.ts, the per-request checks in request-handler.ts, the socket's preparation in
 * socket-listener.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Broker } from '../core/broker.js';
import { systemClock, type Clock, type Logger } from '../core/ports.js';
import type { AdminCredential } from './admin-credential.js';
import { adminRoutes } from './admin-routes.js';
import type { ClientRegistry } from './client-registry.js';
import {
  answerAndClose,
  ConnectionGate,
  rawJsonResponse,
  realGateClock,
  type ListenerKind,
} from './connection-gate.js';
import { consumerRoutes } from './consumer-routes.js';
import { EventHub } from './event-stream.js';
import { fitConnections, openFileLimit } from './fd-limit.js';
import { formatAddress, parseListenAddress, socketHostNames, type ListenAddress } from './loopback.js';
import { MAX_BODY_BYTES } from './request-body.js';
import { createRequestHandler } from './request-handler.js';
import type { Route, ServiceDeps } from './route.js';
import { Router } from './router.js';
import { listenOnSocket, prepareSocketPath, SOCKET_BACKLOG } from './socket-listener.js';

export interface TokenServiceLimits {
  /** Time to receive a request's headers (slow-loris guard). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body). Event streams are exempt once started. */
  readonly requestTimeoutMs: number;
  /** The idle timeout: how long a keep-alive connection may sit between requests. */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the header and request timeouts. */
  readonly connectionsCheckingIntervalMs: number;
  /**
   * Open connections per listener (the socket and the TCP port each have this many); more get a
   * 503 with Retry-After. Lowered at start when the open-file limit is smaller (see fd-limit.ts).
   */
  readonly maxConnections: number;
  /** At the bound, a connection silent (no whole request) this long gives its place to a newcomer. */
  readonly silentEvictAfterMs: number;
  /** A refused, timed-out or malformed connection is destroyed this long after its answer. */
  readonly failGraceMs: number;
  /** The Retry-After of the over-the-bound 503. */
  readonly overloadRetryAfterSeconds: number;
  /** Refused connections are logged at most this often (with a count). */
  readonly refusalLogEveryMs: number;
  readonly maxBodyBytes: number;
  readonly maxEventStreams: number;
  /** Event streams one client (or the admin) may hold at once. */
  readonly maxEventStreamsPerClient: number;
  readonly heartbeatMs: number;
  /** On close, how long requests in flight may take before their connections are cut. */
  readonly closeGraceMs: number;
}

export const DEFAULT_LIMITS: TokenServiceLimits = {
  // Generous, because a herd on a slow machine (a NAS) may wait seconds for its headers to be
  // read; a silent connection is gone within headersTimeout + one check interval + failGrace
  // (≤ 12 s), and at the bound a silent one makes room after silentEvictAfterMs anyway.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 1_000,
  // A herd of 1000 consumers on each listener at once, with room to spare.
  maxConnections: 1500,
  silentEvictAfterMs: 1_000,
  failGraceMs: 1_000,
  overloadRetryAfterSeconds: 1,
  refusalLogEveryMs: 10_000,
  maxBodyBytes: MAX_BODY_BYTES,
  maxEventStreams: 32,
  maxEventStreamsPerClient: 4,
  heartbeatMs: 15_000,
  closeGraceMs: 5_000,
};

export interface TokenServiceOptions {
  readonly broker: Broker;
  readonly socketPath: string;
  /** `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT`; anything else throws InvalidListenAddressError. */
  readonly listen?: string | undefined;
  readonly clients: ClientRegistry;
  readonly admin: AdminCredential;
  readonly log: Logger;
  /** For `expires_in` and `Retry-After`; the broker's clock in tests. */
  readonly clock?: Clock;
  readonly limits?: Partial<TokenServiceLimits>;
  /**
   * More routes (e.g. client-request-routes.ts), matched after the built-in ones and going
   * through the same checks (browser, Host, size, auth by their `access`).
   */
  readonly extraRoutes?: readonly Route[];
}

export interface TokenService {
  readonly socketPath: string;
  /** `127.0.0.1:PORT` (the port actually bound) when the TCP listener is on. */
  readonly tcpAddress?: string;
  /** Stops listening, ends event streams, lets requests in flight finish (up to closeGraceMs). */
  close(): Promise<void>;
}

export async function startTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const listen = options.listen === undefined ? undefined : parseListenAddress(options.listen);
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now();
  const { log } = options;
  const limits = fitLimits({ ...DEFAULT_LIMITS, ...options.limits }, listen ? 2 : 1, log);

  await prepareSocketPath(options.socketPath);

  const events = new EventHub(options.broker, log, now, {
    heartbeatMs: limits.heartbeatMs,
    maxStreams: limits.maxEventStreams,
    maxStreamsPerClient: limits.maxEventStreamsPerClient,
    maxBufferedBytes: 1024 * 1024,
    retryMs: 3_000,
  });
  const deps: ServiceDeps = {
    broker: options.broker,
    clients: options.clients,
    admin: options.admin,
    events,
    log,
    now,
  };
  const router = new Router([...consumerRoutes, ...adminRoutes, ...(options.extraRoutes ?? [])]);

  const servers: Server[] = [];
  const gates: ConnectionGate[] = [];
  const unix = makeServer(
    createRequestHandler(deps, router, {
      maxBodyBytes: limits.maxBodyBytes,
      socketHosts: socketHostNames(options.socketPath),
    }),
    limits,
    gateFor('socket', limits, log, gates),
  );
  let tcpAddress: string | undefined;
  try {
    await listenOnSocket(unix, options.socketPath);
    servers.push(unix);
    if (listen) {
      const tcp = makeServer(
        createRequestHandler(deps, router, { maxBodyBytes: limits.maxBodyBytes }),
        limits,
        gateFor('tcp', limits, log, gates),
      );
      tcpAddress = await listenOnTcp(tcp, listen);
      servers.push(tcp);
    }
    for (const server of servers) server.on('error', acceptErrorLogger(log, limits.refusalLogEveryMs));
  } catch (error) {
    events.close();
    await Promise.all(servers.map((s) => closeServer(s, 0)));
    throw error;
  }
  log.info(
    { socket: options.socketPath, ...(tcpAddress ? { tcp: tcpAddress } : {}) },
    `token service listening on ${options.socketPath}${tcpAddress ? ` and http://${tcpAddress}` : ''}`,
  );

  let closing: Promise<void> | undefined;
  return {
    socketPath: options.socketPath,
    ...(tcpAddress ? { tcpAddress } : {}),
    close: () =>
      (closing ??= (async () => {
        events.close();
        await Promise.all(servers.map((s) => closeServer(s, limits.closeGraceMs)));
        for (const gate of gates) gate.flushLog();
        await options.clients
          .flush()
          .catch((error: unknown) =>
            log.warn({ error: (error as Error).message }, 'could not save the client list on close'),
          );
        log.info({ socket: options.socketPath }, 'token service stopped');
      })()),
  };
}

/** The limits, with maxConnections lowered (and a warning) when the open-file limit is too small for it. */
function fitLimits(limits: TokenServiceLimits, listeners: number, log: Logger): TokenServiceLimits {
  const fdLimit = openFileLimit();
  const fitted = fitConnections(limits.maxConnections, listeners, fdLimit);
  if (fitted === limits.maxConnections) return limits;
  log.warn(
    { openFileLimit: fdLimit, wanted: limits.maxConnections, maxConnections: fitted },
    `the open-file limit (${fdLimit}) allows only ${fitted} connections per listener instead of ` +
      `${limits.maxConnections}; raise it (systemd: LimitNOFILE=8192) to serve larger herds`,
  );
  return { ...limits, maxConnections: fitted };
}

function gateFor(
  listener: ListenerKind,
  limits: TokenServiceLimits,
  log: Logger,
  gates: ConnectionGate[],
): ConnectionGate {
  const gate = new ConnectionGate({
    listener,
    maxConnections: limits.maxConnections,
    silentEvictAfterMs: limits.silentEvictAfterMs,
    graceMs: limits.failGraceMs,
    retryAfterSeconds: limits.overloadRetryAfterSeconds,
    logEveryMs: limits.refusalLogEveryMs,
    log,
  });
  gates.push(gate);
  return gate;
}

/**
 * After listening, a failed accept is an 'error' on the server, which would otherwise crash the
 * process; it is logged (at most once per interval) and the service goes on. (At EMFILE libuv
 * itself accepts and closes the queued connections — there is no descriptor to answer on — and
 * reports nothing; fitLimits keeps the bound under the open-file limit so that this is rare.)
 */
function acceptErrorLogger(log: Logger, everyMs: number): (error: NodeJS.ErrnoException) => void {
  let last = -Infinity;
  let count = 0;
  return (error) => {
    count += 1;
    const now = Date.now();
    if (now - last < everyMs) return;
    log.error(
      { code: error.code, failures: count },
      error.code === 'EMFILE' || error.code === 'ENFILE'
        ? `could not accept ${count} connection(s): the open-file limit is reached; raise it (systemd: LimitNOFILE=8192) or lower the load`
        : `could not accept ${count} connection(s): ${error.message}`,
    );
    last = now;
    count = 0;
  };
}

function makeServer(
  handler: Parameters<typeof createServer>[1],
  limits: TokenServiceLimits,
  gate: ConnectionGate,
): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: 16 * 1024,
      // A missing Host is fine (the Host check refuses wrong ones, not absent ones).
      requireHostHeader: false,
    },
    handler,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // No socket-wide inactivity timeout (server.timeout): Node resets it after the first keep-alive
  // request anyway; headersTimeout, requestTimeout and keepAliveTimeout bound every phase.
  server.timeout = 0;
  // No server.maxConnections: Node closes the connections over it without a word (a reset). The
  // gate answers them instead. It sits in front of http's own 'connection' listener, which it
  // calls for the connections it lets in (emitting 'connection' is how sockets are handed to an
  // http.Server, per Node's docs).
  const [httpConnection, ...others] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!httpConnection || others.length > 0) throw new Error('node:http has no single connection listener');
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (gate.admit(socket)) httpConnection.call(server, socket);
  });
  server.on('request', (req: IncomingMessage) => gate.spoke(req.socket));
  // No count limit (maxHeaderSize bounds the head): with one, Node leaves headers past it out of
  // req.headers while still framing by them, so an Origin, Sec-Fetch-* or an oversized
  // Content-Length after ~100 padding headers would go unseen by request-handler.ts.
  server.maxHeadersCount = 0;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
    onClientError(error, socket, limits.failGraceMs),
  );
  server.on('checkExpectation', onUnsupportedExpectation);
  return server;
}

/**
 * An `Expect` other than `100-continue`: Node would answer a bare 417 of its own; this one has
 * the service's error shape. The request is not served (and its body not read, so: close).
 */
function onUnsupportedExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    error: { code: 'expectation_failed', message: 'Only "Expect: 100-continue" is supported.' },
  });
  res.writeHead(417, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(body);
}

/**
 * Malformed or timed-out requests get a short JSON answer (never Node's defaults or a stack),
 * and the connection is destroyed `graceMs` later: ending it alone leaves it open for as long as
 * the peer keeps its side open (FIN-WAIT-2), still counted against the bound.
 */
function onClientError(error: NodeJS.ErrnoException, socket: Socket, graceMs: number): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const [status, code, text] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'Request Timeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'Request Header Fields Too Large']
        : [400, 'bad_request', 'Bad Request'];
  answerAndClose(socket, rawJsonResponse(status, text, code, `${text}.`), graceMs, realGateClock);
}

async function listenOnTcp(server: Server, address: ListenAddress): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A herd connects at once; the default backlog (511) would make the rest retry their SYN.
    server.listen(
      { host: address.host, port: address.port, exclusive: true, backlog: SOCKET_BACKLOG },
      () => {
        server.off('error', reject);
        resolve();
      },
    );
  });
  const bound = server.address() as AddressInfo;
  return formatAddress(bound.address, bound.port);
}

/** Stops accepting, closes idle connections now and busy ones after `graceMs`. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
