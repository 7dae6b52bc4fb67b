/**
 * The door of one listener (the Unix socket, or the loopback TCP port): it counts the open
 * connections and decides, when a connection arrives, whether it gets in.
 *
 * - Under the bound: in.
 * - At the bound: the oldest connection that has been open `silentEvictAfterMs` without sending
 *   a whole request (a holder, or a slow loris) gives its place up — it gets the 503 — so silent
 *   connections can never keep out a client that talks. Without such a connection the newcomer
 *   gets the 503.
 * - A refused connection is never reset: it gets a short HTTP 503 JSON answer with Retry-After,
 *   what it sends is read and thrown away (closing with unread data would reset it), its side is
 *   ended, and it is destroyed after `graceMs` whatever the peer does.
 * - Refusals are logged at most once per `logEveryMs`, with how many there were.
 *
 * Each listener has its own gate, so TCP (open to every local user) can never use up the socket's
 * budget (owner-only). See DESIGN.md, "Connection bounds".
 */
import type { Socket } from 'node:net';
import type { Logger } from '../core/ports.js';

export type ListenerKind = 'socket' | 'tcp';

/** What the service knows about a connection's peer (for limits and for logs). */
export interface ConnectionInfo {
  /** Unique per process, so that per-connection budgets survive port reuse. */
  readonly id: number;
  readonly listener: ListenerKind;
  /** TCP only: the peer's loopback port (TCP cannot tell local users apart). */
  readonly remotePort: number | undefined;
  readonly openedAt: number;
  /** Whether a whole request has arrived on it. */
  spoke: boolean;
}

/** Timers for the gate: real ones in the service, fakes in unit tests. */
export interface GateClock {
  now(): number;
  after(ms: number, fn: () => void): void;
}

export const realGateClock: GateClock = {
  now: () => Date.now(),
  after: (ms, fn) => void setTimeout(fn, ms).unref(),
};

export interface ConnectionGateOptions {
  readonly listener: ListenerKind;
  readonly maxConnections: number;
  readonly silentEvictAfterMs: number;
  /** How long a refused or failed connection may take to read its answer before it is destroyed. */
  readonly graceMs: number;
  readonly retryAfterSeconds: number;
  readonly logEveryMs: number;
  readonly log: Logger;
  readonly clock?: GateClock;
}

const infos = new WeakMap<Socket, ConnectionInfo>();
let nextId = 1;

/** The info of a connection the gate let in (undefined for any other socket). */
export function connectionOf(socket: Socket | null | undefined): ConnectionInfo | undefined {
  return socket ? infos.get(socket) : undefined;
}

/** How the peer of a connection is named in logs: `socket #12` or `tcp 127.0.0.1:54321 #13`. */
export function describePeer(info: ConnectionInfo | undefined): Record<string, unknown> {
  if (!info) return { via: 'unknown' };
  return info.listener === 'socket'
    ? { via: 'socket', connection: info.id }
    : { via: 'tcp', remotePort: info.remotePort, connection: info.id };
}

/**
 * Writes `head + body` on the raw socket, ends it, and destroys it after `graceMs`. Incoming
 * bytes are drained meanwhile: a socket closed with unread data is reset on TCP (and reports
 * ECONNRESET on a Unix socket), and the peer could lose the answer.
 */
export function answerAndClose(socket: Socket, response: string, graceMs: number, clock: GateClock): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  socket.resume();
  if (socket.writable) socket.end(response);
  else socket.end();
  clock.after(graceMs, () => socket.destroy());
}

export function rawJsonResponse(
  status: number,
  text: string,
  code: string,
  message: string,
  extraHeaders = '',
): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n${extraHeaders}` +
    `connection: close\r\n\r\n${body}`
  );
}

export class ConnectionGate {
  readonly #options: ConnectionGateOptions;
  readonly #clock: GateClock;
  /** Insertion order = age order: the first silent one is the oldest. */
  readonly #open = new Map<Socket, ConnectionInfo>();
  readonly #overload: string;
  #refusedSinceLog = 0;
  #evictedSinceLog = 0;
  #lastLogAt = -Infinity;

  constructor(options: ConnectionGateOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realGateClock;
    this.#overload = rawJsonResponse(
      503,
      'Service Unavailable',
      'too_many_connections',
      `The broker is serving its maximum of ${options.maxConnections} connections on this ${options.listener === 'tcp' ? 'TCP port' : 'socket'}; retry in a moment.`,
      `retry-after: ${options.retryAfterSeconds}\r\n`,
    );
  }

  get size(): number {
    return this.#open.size;
  }

  /** Connections refused so far whose log line is still to come. */
  get unloggedRefusals(): number {
    return this.#refusedSinceLog + this.#evictedSinceLog;
  }

  /** Decides for a new connection: true when it is let in (the caller hands it to HTTP). */
  admit(socket: Socket): boolean {
    if (this.#open.size >= this.#options.maxConnections) {
      const evicted = this.#evictOneSilent();
      if (!evicted) {
        this.#refusedSinceLog += 1;
        this.#refuse(socket);
      }
      this.#logRefusals();
      if (!evicted) return false;
    }
    const info: ConnectionInfo = {
      id: nextId++,
      listener: this.#options.listener,
      remotePort: this.#options.listener === 'tcp' ? socket.remotePort : undefined,
      openedAt: this.#clock.now(),
      spoke: false,
    };
    infos.set(socket, info);
    this.#open.set(socket, info);
    socket.once('close', () => this.#open.delete(socket));
    return true;
  }

  /** A whole request arrived on `socket`: it is no longer a candidate for eviction. */
  spoke(socket: Socket): void {
    const info = this.#open.get(socket);
    if (info) info.spoke = true;
  }

  /** Writes the final refusal count to the log (on close). */
  flushLog(): void {
    if (this.unloggedRefusals > 0) this.#writeLog();
  }

  #evictOneSilent(): boolean {
    const cutoff = this.#clock.now() - this.#options.silentEvictAfterMs;
    for (const [socket, info] of this.#open) {
      if (info.openedAt > cutoff) return false; // the rest are younger still
      if (info.spoke) continue;
      this.#open.delete(socket);
      this.#evictedSinceLog += 1;
      this.#refuse(socket);
      return true;
    }
    return false;
  }

  #refuse(socket: Socket): void {
    answerAndClose(socket, this.#overload, this.#options.graceMs, this.#clock);
  }

  #logRefusals(): void {
    if (this.#clock.now() - this.#lastLogAt >= this.#options.logEveryMs) this.#writeLog();
  }

  #writeLog(): void {
    const { listener, maxConnections, logEveryMs } = this.#options;
    this.#options.log.warn(
      {
        listener,
        maxConnections,
        refused: this.#refusedSinceLog,
        silentEvicted: this.#evictedSinceLog,
        open: this.#open.size,
      },
      `${listener === 'tcp' ? 'TCP' : 'socket'} connection limit reached (${maxConnections}): ` +
        `${this.#refusedSinceLog} connection(s) answered 503` +
        (this.#evictedSinceLog ? `, ${this.#evictedSinceLog} silent connection(s) closed to make room` : '') +
        (Number.isFinite(this.#lastLogAt) ? ` in the last ${Math.round(logEveryMs / 1000)} s` : ''),
    );
    this.#refusedSinceLog = 0;
    this.#evictedSinceLog = 0;
    this.#lastLogAt = this.#clock.now();
  }
}
