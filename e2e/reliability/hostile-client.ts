/**
 * Plays hostile-generator.ts's cases against the daemon over raw sockets and judges every answer.
 *
 * A **clean error** is, precisely:
 *  - an HTTP/1.1 answer whose status is a 4xx (408 for timeouts, 413, 431…), a 503 (overload,
 *    with Retry-After) or, from the bridge only, a 502/504 for a well-formed tunnel or forward to
 *    a closed loopback port; never a 2xx/3xx (every generated request is invalid) and never a 500;
 *  - from the token service: `content-type: application/json` and a body that is the error shape
 *    of API.md — `{"error":{"code","message"}}`, or PikPak's `{"error","error_code",
 *    "error_description"}` from the compatible endpoints; 401 with `WWW-Authenticate`, 405 with
 *    `Allow`, 503 with `Retry-After`;
 *  - from the bridge: an empty, `text/plain` or PikPak-shaped JSON body;
 *  - from either: no stack trace, no file path, no secret in the body; or
 *  - no answer at all, the connection closed (or reset) by the server within the deadline, for
 *    bytes it could not parse; or, for requests left incomplete on purpose, the server still
 *    waiting for the rest when the client gives up.
 * A case that neither answers nor closes within the deadline (and was not meant to wait) hangs,
 * which is not clean.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import type { Expectation, HostileCase, SlowCase, Target, Via } from './hostile-generator.js';

export interface Endpoints {
  readonly socketPath: string;
  readonly tcpPort: number;
  readonly bridgePort: number;
}

export type Outcome =
  /** One or more answers arrived. */
  | 'answered'
  /** The server closed (FIN) without answering. */
  | 'closed'
  /** The server reset the connection without answering. */
  | 'reset'
  /** The client hung up (on purpose) before the server answered or closed. */
  | 'client-ended'
  /** Nothing within the deadline. */
  | 'hang'
  /** The tunnel or TLS handshake in front of the request failed. */
  | 'preamble-failed'
  | 'connect-failed';

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface CaseResult {
  readonly id: number;
  readonly outcome: Outcome;
  /** Statuses of the final answers (after any CONNECT preamble). */
  readonly statuses: readonly number[];
  /** The first answer's error code, when it has one. */
  readonly code: string | undefined;
  /** Empty when the outcome is clean; else why not. */
  readonly problems: readonly string[];
  readonly ms: number;
}

export interface JudgeContext {
  /** Strings that must never appear in an error body. */
  readonly secrets: readonly string[];
}

const STACK =
  /\bat (?:async )?[\w$.<>[\]]+ \(|\bat (?:file:|node:)|node:internal|\.(?:ts|js|mjs|cjs):\d+:\d+/;
const FILE_PATH = /(?:^|[\s"'(=:])\/(?:work|root|home|usr|tmp|var|etc|proc|opt|srv|mnt|run|Users)\//;

// ── answers on the wire ───────────────────────────────────────────────────────────────────────

export interface Parsed {
  readonly answers: Answer[];
  /** Bytes left that are not (yet) a whole answer. */
  readonly partial: boolean;
  /** Bytes that are not an HTTP answer at all. */
  readonly garbage: boolean;
}

/** HTTP/1.1 answers in `buf`; `closed` says the stream ended (a body without length ends there). */
export function parseAnswers(buf: Buffer, options: { head?: boolean; closed: boolean }): Parsed {
  const answers: Answer[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    const line = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?(?:\r\n|$)/.exec(
      buf.subarray(at, Math.min(buf.length, at + 200)).toString('latin1'),
    );
    if (!line) {
      // Could still become a status line if only a few bytes came.
      const soFar = buf.subarray(at, Math.min(buf.length, at + 12)).toString('latin1');
      const prefix = 'HTTP/1.1 '.startsWith(soFar) || soFar.startsWith('HTTP/1.');
      return { answers, partial: prefix && end === -1, garbage: !(prefix && end === -1) };
    }
    if (end === -1) return { answers, partial: true, garbage: false };
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(line[1]);
    const headers: Record<string, string> = {};
    for (const h of lines.slice(1)) {
      const colon = h.indexOf(':');
      if (colon <= 0) return { answers, partial: false, garbage: true };
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let next = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status >= 100 && status < 200) {
      at = next;
      continue; // interim (100 Continue): no body, not judged
    }
    if (!(options.head || status === 204 || status === 304)) {
      if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
        const chunks: Buffer[] = [];
        for (;;) {
          const lineEnd = buf.indexOf('\r\n', next);
          if (lineEnd === -1) return { answers, partial: true, garbage: false };
          const size = parseInt(buf.subarray(next, lineEnd).toString('latin1'), 16);
          if (!Number.isFinite(size)) return { answers, partial: false, garbage: true };
          if (size === 0) {
            const trailerEnd = buf.indexOf('\r\n', lineEnd + 2);
            if (trailerEnd === -1) return { answers, partial: true, garbage: false };
            next = trailerEnd + 2;
            break;
          }
          if (buf.length < lineEnd + 2 + size + 2) return { answers, partial: true, garbage: false };
          chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
          next = lineEnd + 2 + size + 2;
        }
        body = Buffer.concat(chunks);
      } else if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 0) return { answers, partial: false, garbage: true };
        if (buf.length < next + length) return { answers, partial: true, garbage: false };
        body = buf.subarray(next, next + length);
        next += length;
      } else {
        if (!options.closed) return { answers, partial: true, garbage: false };
        body = buf.subarray(next);
        next = buf.length;
      }
    }
    answers.push({ status, headers, body });
    at = next;
  }
  return { answers, partial: false, garbage: false };
}

/** Why an answer is not a clean error (empty: it is one). */
export function judgeAnswer(
  answer: Answer,
  as: 'service' | 'bridge',
  expect: Expectation,
  ctx: JudgeContext,
): string[] {
  const problems: string[] = [];
  const { status, headers } = answer;
  const text = answer.body.toString('utf8');
  const okStatus =
    (status >= 400 && status < 500) ||
    status === 503 ||
    (as === 'bridge' && expect.gateway === true && (status === 502 || status === 504));
  if (!okStatus) problems.push(`status ${status}`);
  if (STACK.test(text)) problems.push('a stack trace in the body');
  if (FILE_PATH.test(text)) problems.push('a file path in the body');
  for (const secret of ctx.secrets)
    if (secret && text.includes(secret)) problems.push('a secret in the body');
  if (text.includes('"access_token":"')) problems.push('an access token in the body');
  const type = headers['content-type'] ?? '';
  const json = (): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  if (as === 'service') {
    if (!/^application\/json\b/i.test(type)) problems.push(`content-type "${type}" (not JSON)`);
    else if (expect.head !== true && !isServiceError(json()) && !isPikPakError(json()))
      problems.push(`body is not an error shape: ${text.slice(0, 120)}`);
    if (status === 401 && !headers['www-authenticate']) problems.push('401 without WWW-Authenticate');
    if (status === 405 && !headers.allow) problems.push('405 without Allow');
    if (status === 503 && !headers['retry-after']) problems.push('503 without Retry-After');
  } else if (answer.body.length > 0) {
    if (/^application\/json\b/i.test(type)) {
      if (!isPikPakError(json()) && !isServiceError(json()))
        problems.push(`JSON body is not an error shape: ${text.slice(0, 120)}`);
    } else if (!/^text\/plain\b/i.test(type)) problems.push(`content-type "${type}"`);
  }
  return problems;
}

export function errorCodeOf(answer: Answer): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (isServiceError(value)) return value.error.code;
  if (isPikPakError(value)) return value.error;
  return undefined;
}

function isServiceError(v: unknown): v is { error: { code: string; message: string } } {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

function isPikPakError(v: unknown): v is { error: string; error_code: number; error_description: string } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.error === 'string' && typeof o.error_code === 'number' && typeof o.error_description === 'string'
  );
}

// ── connections ───────────────────────────────────────────────────────────────────────────────

/** Collects what a stream receives; `changed()` resolves at the next event (or after `ms`). */
class Collector {
  readonly chunks: Buffer[] = [];
  closed = false;
  reset = false;
  #wake: (() => void) | undefined;

  constructor(stream: Duplex, first?: Buffer) {
    if (first && first.length > 0) this.chunks.push(first);
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.#notify();
    });
    stream.on('end', () => {
      this.closed = true;
      this.#notify();
    });
    stream.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') this.reset = true;
      this.closed = true;
      this.#notify();
    });
  }

  buffer(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }

  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#wake = done;
    });
  }

  #notify(): void {
    this.#wake?.();
  }
}

function open(target: Target, ep: Endpoints): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      target === 'socket'
        ? connect({ path: ep.socketPath })
        : connect({ host: '127.0.0.1', port: target === 'tcp' ? ep.tcpPort : ep.bridgePort });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends `CONNECT target` (and `withConnect`) and reads the proxy's answer head. */
async function tunnel(
  socket: Socket,
  via: Via,
  deadline: number,
): Promise<{ status: number; rest: Buffer } | string> {
  const auth =
    via.proxyAuthorization === undefined ? '' : `Proxy-Authorization: ${via.proxyAuthorization}\r\n`;
  const head = Buffer.from(
    `CONNECT ${via.connect} HTTP/1.1\r\nHost: ${via.connect}\r\n${auth}\r\n`,
    'latin1',
  );
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish('no answer to CONNECT in time'),
      Math.max(0, deadline - performance.now()),
    );
    const finish = (result: { status: number; rest: Buffer } | string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, 20).toString('latin1'))?.[1] ?? 0);
      finish({ status, rest: buf.subarray(end + 4) });
    };
    const onClose = (): void =>
      finish(
        `the bridge closed the connection at CONNECT (${buf.length} bytes: ${buf.toString('latin1').slice(0, 80)})`,
      );
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    socket.write(via.withConnect ? Buffer.concat([head, via.withConnect]) : head);
  });
}

function tlsInside(socket: Socket, servername: string, deadline: number): Promise<Duplex | string> {
  return new Promise((resolve) => {
    const tls = tlsConnect({
      socket,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(
      () => {
        tls.destroy();
        resolve('no TLS handshake in time');
      },
      Math.max(0, deadline - performance.now()),
    );
    tls.once('secureConnect', () => {
      clearTimeout(timer);
      tls.removeAllListeners('error');
      resolve(tls);
    });
    tls.once('error', (error) => {
      clearTimeout(timer);
      resolve(`TLS handshake failed: ${error.message}`);
    });
  });
}

async function write(stream: Duplex, data: Buffer, collector: Collector): Promise<boolean> {
  if (collector.closed || stream.destroyed) return false;
  // Large bodies go in slices so that a server hanging up mid-body is noticed.
  for (let at = 0; at < data.length; at += 64 * 1024) {
    if (collector.closed || stream.destroyed) return false;
    const ok = stream.write(data.subarray(at, at + 64 * 1024));
    if (!ok)
      await Promise.race([
        new Promise((resolve) => stream.once('drain', resolve)),
        new Promise((resolve) => stream.once('close', resolve)),
        sleep(5_000),
      ]);
  }
  return !collector.closed;
}

// ── one case ──────────────────────────────────────────────────────────────────────────────────

export interface RunOptions {
  /** The longest a case may take from its last write to its end (answer and close). */
  readonly deadlineMs: number;
  /** After an answer that says `connection: close`, how long the close may take. */
  readonly closeAfterAnswerMs: number;
}

export async function runCase(
  c: HostileCase,
  ep: Endpoints,
  ctx: JudgeContext,
  options: RunOptions,
): Promise<CaseResult> {
  const started = performance.now();
  const result = (outcome: Outcome, problems: string[], answers: Answer[] = []): CaseResult => ({
    id: c.id,
    outcome,
    statuses: answers.map((a) => a.status),
    code: answers[0] ? errorCodeOf(answers[0]) : undefined,
    problems,
    ms: Math.round(performance.now() - started),
  });

  let socket: Socket;
  try {
    socket = await open(c.target, ep);
  } catch (error) {
    return result('connect-failed', [
      `could not connect: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    ]);
  }
  socket.on('error', () => undefined);
  let stream: Duplex = socket;
  let first: Buffer | undefined;
  try {
    if (c.via) {
      const answer = await tunnel(socket, c.via, started + options.deadlineMs);
      if (typeof answer === 'string') return result('preamble-failed', [answer]);
      if (answer.status !== 200)
        return result('preamble-failed', [`CONNECT ${c.via.connect} got ${answer.status}`]);
      if (c.via.tls) {
        const tls = await tlsInside(socket, c.via.tls.servername, started + options.deadlineMs);
        if (typeof tls === 'string') return result('preamble-failed', [tls]);
        tls.on('error', () => undefined);
        stream = tls;
      } else {
        first = answer.rest;
        socket.resume();
      }
    }
    const collector = new Collector(stream, first);
    for (const bytes of c.writes) if (!(await write(stream, bytes, collector))) break;
    const lastWrite = performance.now();

    const finish = c.finish;
    let clientEnded = false;
    if (finish.kind === 'abort') {
      await collector.changed(5); // what already arrived
      stream.destroy();
      clientEnded = !collector.closed;
    } else {
      const settle = async (until: number): Promise<'done' | 'timeout'> => {
        let answeredAt: number | undefined;
        for (;;) {
          const parsed = parseAnswers(collector.buffer(), { head: c.expect.head, closed: collector.closed });
          // TLS records are not HTTP: after them, wait for the close like for anything else.
          if (collector.closed || (parsed.garbage && c.expect.tls !== true)) return 'done';
          const complete = parsed.answers.length > 0 && !parsed.partial;
          if (complete) {
            const last = parsed.answers[parsed.answers.length - 1]!;
            if (!/\bclose\b/i.test(last.headers.connection ?? '')) {
              // Kept alive: allow a moment for answers right behind it (pipelined garbage).
              await collector.changed(30);
              if (
                parseAnswers(collector.buffer(), { head: c.expect.head, closed: collector.closed }).answers
                  .length === parsed.answers.length
              )
                return 'done';
              continue;
            }
            answeredAt ??= performance.now();
            if (performance.now() - answeredAt > options.closeAfterAnswerMs) return 'done';
          }
          const left = until - performance.now();
          if (left <= 0) return 'timeout';
          await collector.changed(Math.min(left, options.closeAfterAnswerMs));
        }
      };
      if (finish.kind === 'stall') {
        const stalled = await settle(performance.now() + finish.ms);
        if (stalled === 'timeout') {
          if (finish.then === 'abort') {
            stream.destroy();
            clientEnded = true;
          } else {
            stream.end();
            const after = await settle(performance.now() + options.deadlineMs);
            if (after === 'timeout') clientEnded = false;
          }
        }
      } else {
        await settle(lastWrite + options.deadlineMs);
      }
    }

    const buf = collector.buffer();
    const parsed = parseAnswers(buf, { head: c.expect.head, closed: true });
    const problems: string[] = [];
    const answers = parsed.answers;
    for (const answer of answers) problems.push(...judgeAnswer(answer, c.judgeAs, c.expect, ctx));
    if (parsed.garbage) {
      const looksTls =
        c.expect.tls === true && answers.length === 0 && [0x14, 0x15, 0x16, 0x17].includes(buf[0]!);
      if (!looksTls)
        problems.push(`not an HTTP answer: ${JSON.stringify(buf.toString('latin1').slice(0, 80))}`);
    }
    if (parsed.partial && !collector.reset && answers.length === 0 && buf.length > 0 && collector.closed)
      problems.push('a truncated answer');
    const firstAnswer = answers[0];
    if (firstAnswer) {
      if (c.expect.statuses && !c.expect.statuses.includes(firstAnswer.status))
        problems.push(`status ${firstAnswer.status}, expected ${c.expect.statuses.join('/')}`);
      const code = errorCodeOf(firstAnswer);
      if (c.expect.codes && (code === undefined || !c.expect.codes.includes(code)))
        problems.push(`code ${code ?? '(none)'}, expected ${c.expect.codes.join('/')}`);
    }
    let outcome: Outcome;
    if (answers.length > 0) outcome = 'answered';
    else if (clientEnded) outcome = 'client-ended';
    else if (collector.closed) outcome = collector.reset ? 'reset' : 'closed';
    else outcome = c.expect.mayWait ? 'client-ended' : 'hang';
    if (outcome === 'hang') problems.push(`no answer and no close within ${options.deadlineMs} ms`);
    if (c.expect.mustAnswer && answers.length === 0 && !collector.reset)
      problems.push(`no answer (${outcome})`);
    return result(outcome, problems, answers);
  } finally {
    stream.destroy();
    socket.destroy();
  }
}

// ── slow clients ──────────────────────────────────────────────────────────────────────────────

export interface SlowResult {
  readonly id: number;
  readonly variant: string;
  /** When the server cut the client off (answer or close), ms after the first byte. */
  readonly cutAfterMs: number | undefined;
  readonly sentBytes: number;
  /** The client got to send everything (the server never cut it off). */
  readonly finished: boolean;
  readonly statuses: readonly number[];
  readonly problems: readonly string[];
}

export async function runSlow(
  s: SlowCase,
  ep: Endpoints,
  ctx: JudgeContext,
  boundMs: number,
): Promise<SlowResult> {
  const problems: string[] = [];
  const socket = await open(s.target, ep);
  socket.on('error', () => undefined);
  let stream: Duplex = socket;
  const started = performance.now();
  try {
    if (s.via) {
      const answer = await tunnel(socket, s.via, started + 10_000);
      if (typeof answer === 'string' || answer.status !== 200)
        return {
          id: s.id,
          variant: s.variant,
          cutAfterMs: undefined,
          sentBytes: 0,
          finished: false,
          statuses: [],
          problems: [`tunnel: ${typeof answer === 'string' ? answer : answer.status}`],
        };
      if (s.via.tls) {
        const tls = await tlsInside(socket, s.via.tls.servername, started + 10_000);
        if (typeof tls === 'string')
          return {
            id: s.id,
            variant: s.variant,
            cutAfterMs: undefined,
            sentBytes: 0,
            finished: false,
            statuses: [],
            problems: [tls],
          };
        tls.on('error', () => undefined);
        stream = tls;
      } else socket.resume();
    }
    const collector = new Collector(stream);
    const t0 = performance.now();
    stream.write(s.prefix);
    let sent = s.prefix.length;
    let i = 0;
    let cutAt: number | undefined;
    while (performance.now() - t0 < boundMs) {
      await collector.changed(s.intervalMs);
      if (collector.closed || collector.chunks.length > 0) {
        cutAt ??= performance.now() - t0;
        if (collector.closed) break;
        continue;
      }
      if (i >= s.trickle.length) break;
      stream.write(s.trickle.subarray(i, i + 1));
      i += 1;
      sent += 1;
    }
    const parsed = parseAnswers(collector.buffer(), { closed: true });
    for (const answer of parsed.answers) problems.push(...judgeAnswer(answer, s.judgeAs, {}, ctx));
    for (const answer of parsed.answers)
      if (answer.status !== 408) problems.push(`status ${answer.status}, expected 408`);
    if (parsed.garbage) problems.push('not an HTTP answer');
    if (cutAt === undefined) problems.push(`not cut off within ${boundMs} ms`);
    return {
      id: s.id,
      variant: s.variant,
      cutAfterMs: cutAt === undefined ? undefined : Math.round(cutAt),
      sentBytes: sent,
      finished: i >= s.trickle.length,
      statuses: parsed.answers.map((a) => a.status),
      problems,
    };
  } finally {
    stream.destroy();
    socket.destroy();
  }
}

/** Runs `fn` over `items`, at most `concurrency` at a time; stops early when `stop()` says so. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
  onResult: (result: R) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++]!;
      onResult(await fn(item));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
