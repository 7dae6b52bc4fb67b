/**
 * Benchmark rows for the connection bounds, against the daemon with its shipped limits:
 * - herd over TCP: N concurrent token requests (each its own connection) on an expired access
 *   token, through the loopback TCP listener; answers, upstream refreshes, wall time;
 * - held connections: N silent connections on TCP (sending nothing, never closing), then the time
 *   until a new TCP client is served, and the slowest socket answer meanwhile.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpTarget {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** Set when the connection failed instead of answering (reset, refused, EPIPE). */
  readonly error?: string;
}

/** One GET on a connection of its own; a failed connection is reported, not thrown. */
export function getOnce(target: HttpTarget, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
        path,
        headers: { host: 'localhost', ...headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (e: NodeJS.ErrnoException) =>
          resolve({ status: 0, body, error: e.code ?? e.message }),
        );
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: '', error: e.code ?? e.message }),
    );
    req.end();
  });
}

export interface HerdRow {
  readonly requests: number;
  readonly ok: number;
  readonly failedConnections: number;
  readonly upstreamRefreshes: number;
  readonly distinctTokens: number;
  readonly wallMs: number;
}

/** Sends `n` concurrent requests and sums up the answers; `refreshes` counts upstream refreshes. */
export async function runHerd(
  target: HttpTarget,
  n: number,
  path: string,
  headers: Record<string, string>,
  refreshes: () => number,
): Promise<HerdRow> {
  const before = refreshes();
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: n }, () => getOnce(target, path, headers)));
  const wallMs = performance.now() - started;
  const tokens = new Set(
    answers
      .filter((a) => a.status === 200)
      .map((a) => (JSON.parse(a.body) as { access_token?: string }).access_token),
  );
  return {
    requests: n,
    ok: answers.filter((a) => a.status === 200).length,
    failedConnections: answers.filter((a) => a.error !== undefined).length,
    upstreamRefreshes: refreshes() - before,
    distinctTokens: tokens.size,
    wallMs,
  };
}

export interface HeldRow {
  readonly holders: number;
  /** Holders the daemon refused at once (503) because they were over its bound. */
  readonly refusedAtOnce: number;
  /** From the last holder's connect to the first 200 of a new TCP client. */
  readonly newTcpClientServedAfterMs: number;
  /** The slowest socket answer while the holders were open. */
  readonly socketMaxMs: number;
  /** Every socket answer meanwhile was a 200. */
  readonly socketAllOk: boolean;
  /** From the first holder's connect to the last holder answered and closed by the daemon. */
  readonly allHoldersClosedAfterMs: number | undefined;
}

function holdOne(
  port: number,
): Promise<{ socket: Socket; text: () => string; ended: () => number | undefined }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let text = '';
    let endedAt: number | undefined;
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    socket.on('end', () => (endedAt = performance.now()));
    socket.on('error', () => (endedAt ??= performance.now()));
    const done = () => resolve({ socket, text: () => text, ended: () => endedAt });
    socket.once('connect', done);
    socket.once('error', done);
  });
}

/** `holders` silent TCP connections, then a new TCP client polled every 50 ms until served. */
export async function heldConnections(
  tcpPort: number,
  socketPath: string,
  holders: number,
  path: string,
  headers: Record<string, string>,
): Promise<HeldRow> {
  const opened = performance.now();
  const held = await Promise.all(Array.from({ length: holders }, () => holdOne(tcpPort)));
  const allOpen = performance.now();
  let socketMaxMs = 0;
  let socketAllOk = true;
  let polling = true;
  const socketProbe = (async () => {
    while (polling) {
      const t0 = performance.now();
      const a = await getOnce({ socketPath }, path, headers);
      socketMaxMs = Math.max(socketMaxMs, performance.now() - t0);
      if (a.status !== 200) socketAllOk = false;
      await sleep(50);
    }
  })();
  let servedAfter = Number.NaN;
  try {
    for (;;) {
      const a = await getOnce({ host: '127.0.0.1', port: tcpPort }, path, headers);
      if (a.status === 200) {
        servedAfter = performance.now() - allOpen;
        break;
      }
      if (performance.now() - allOpen > 60_000) break;
      await sleep(50);
    }
    // Wait for the daemon to answer and close every holder (header timeout, or eviction).
    while (held.some((h) => h.ended() === undefined) && performance.now() - opened < 30_000) await sleep(100);
  } finally {
    polling = false;
    await socketProbe;
  }
  const ends = held.map((h) => h.ended());
  const refusedAtOnce = held.filter((h) => /^HTTP\/1\.1 503 /.test(h.text())).length;
  for (const h of held) h.socket.destroy();
  return {
    holders,
    refusedAtOnce,
    newTcpClientServedAfterMs: servedAfter,
    socketMaxMs,
    socketAllOk,
    allHoldersClosedAfterMs: ends.every((e) => e !== undefined)
      ? Math.max(...(ends as number[])) - opened
      : undefined,
  };
}

/** The access token expires (a 2 s token, then 2.1 s), PikPak is slowed by 200 ms, then the herd. */
export async function herdOnExpiredToken(
  setup: {
    configureTtl: (seconds: number) => void;
    refreshNow: () => Promise<unknown>;
    slowNextRefresh: (ms: number) => void;
    refreshes: () => number;
  },
  target: HttpTarget,
  n: number,
  path: string,
  headers: Record<string, string>,
): Promise<HerdRow> {
  setup.configureTtl(2);
  await setup.refreshNow();
  await sleep(2100);
  setup.configureTtl(7200); // the herd's new token outlives a slow herd (one refresh, not two)
  setup.slowNextRefresh(200);
  return runHerd(target, n, path, headers, setup.refreshes);
}
