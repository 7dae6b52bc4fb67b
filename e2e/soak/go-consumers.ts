/**
 * Bridge consumers in Go: e2e/alist-go, which follows AList's PikPak token code paths with AList's
 * own libraries (resty for refresh_token_method `http`, golang.org/x/oauth2 for `oauth2`), run with
 * HTTPS_PROXY = the bridge and a broker client secret as its refresh token, exactly as
 * `alist setup` tells users to configure AList.
 *
 * The Go program only prints totals when it stops, so each one gets its own drive host,
 * `drive-go-N.soak.invalid` (`.invalid` can never resolve, so nothing leaves the machine): the
 * bridge tunnels it (`--tunnel-map`) to a small HTTPS observer in the soak's process that forwards
 * every drive call to the emulator and notes when PikPak accepted a token — the same "valid use"
 * the Node consumers record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { childEnv } from '../support/cli-process.js';
import type { ConsumerResult } from './types.js';
import { ValidityTracker } from './validity.js';

export type GoVariant = 'go-http' | 'go-oauth2' | 'go-http-verify';

const DESCRIPTIONS: Record<GoVariant, string> = {
  'go-http':
    'Go AList client, refresh_token_method http (resty), TLS not verified (AList default), via the bridge',
  'go-oauth2':
    'Go AList client, refresh_token_method oauth2 (x/oauth2 re-mints from the secret), TLS verified, via the bridge',
  'go-http-verify':
    'Go AList client, refresh_token_method http, TLS verified against the bridge CA, via the bridge',
};

/** What e2e/alist-go prints when it stops. */
interface GoCounters {
  driveCalls: number;
  driveOk: number;
  expiredRetries: number;
  refreshes: number;
  refreshFailures: number;
  invalidGrants: number;
  signIns: number;
  errors: number;
  firstError?: string;
  initError?: string;
}

export function goVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('go', ['version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}

/** An HTTPS server for one Go consumer's drive host: forwards to the emulator, notes valid uses. */
export class DriveObserver {
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 8 });
  readonly #upstream: URL;
  tracker: ValidityTracker | undefined;
  driveCalls = 0;
  refused = 0;
  readonly errors: Record<string, number> = {};

  private constructor(server: Server, upstream: string) {
    this.#server = server;
    this.#upstream = new URL(upstream);
  }

  static async start(options: { upstream: string; keyPem: string; certPem: string }): Promise<DriveObserver> {
    const server = createServer({ key: options.keyPem, cert: options.certPem, keepAliveTimeout: 5000 });
    const observer = new DriveObserver(server, options.upstream);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => observer.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return observer;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  forward(req: IncomingMessage, res: ServerResponse): void {
    const isDrive = (req.url ?? '').startsWith('/drive/');
    if (isDrive) this.driveCalls += 1;
    const headers = { ...req.headers, host: this.#upstream.host };
    const upstream = request(
      {
        host: this.#upstream.hostname,
        port: Number(this.#upstream.port),
        method: req.method,
        path: req.url,
        headers,
        agent: this.#agent,
      },
      (answer) => {
        const status = answer.statusCode ?? 0;
        if (isDrive) {
          if (status === 200) this.tracker?.ok();
          else if (status === 401) this.refused += 1;
          else this.errors[String(status)] = (this.errors[String(status)] ?? 0) + 1;
        }
        res.writeHead(status, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (isDrive) {
        const key = `observer ${error.code ?? error.message}`;
        this.errors[key] = (this.errors[key] ?? 0) + 1;
      }
      res.destroy();
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    this.#agent.destroy();
  }
}

export interface GoConsumerOptions {
  readonly name: string;
  readonly variant: GoVariant;
  readonly binary: string;
  readonly account: string;
  readonly username: string;
  readonly secret: string;
  readonly deviceId: string;
  readonly proxyUrl: string;
  readonly driveHost: string;
  readonly observer: DriveObserver;
  /** SSL_CERT_FILE for the verifying variants: the bridge's CA and the observer's. */
  readonly bundleFile: string;
  readonly maxDurationS: number;
  readonly intervalMs: number;
}

/**
 * One Go AList client, supervised: AList leaves a storage whose Init failed in an error state until
 * someone reloads it, so when the program exits by itself (an Init that failed, a crash) the soak
 * counts it and starts it again after a second, adding up its counters.
 */
export class GoConsumer {
  readonly #o: GoConsumerOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  readonly #totals: GoCounters = {
    driveCalls: 0,
    driveOk: 0,
    expiredRetries: 0,
    refreshes: 0,
    refreshFailures: 0,
    invalidGrants: 0,
    signIns: 0,
    errors: 0,
  };
  readonly #notes: string[] = [];
  #restarts = 0;
  #missingCounters = 0;

  constructor(options: GoConsumerOptions) {
    this.#o = options;
  }

  get name(): string {
    return this.#o.name;
  }

  get validUses(): number {
    return this.#o.observer.tracker?.figures(Date.now()).validUses ?? 0;
  }

  start(loadStart: number): void {
    this.#o.observer.tracker = new ValidityTracker(loadStart);
    this.#launch();
  }

  #launch(): void {
    const o = this.#o;
    const surrogate = `${o.secret}.${o.account}`;
    const args = [
      '-name',
      o.name,
      '-username',
      o.username,
      '-password',
      surrogate,
      '-device-id',
      o.deviceId,
      '-drive-base',
      `https://${o.driveHost}`,
      '-interval',
      `${o.intervalMs}ms`,
      '-max-duration',
      `${o.maxDurationS}s`,
    ];
    // AList's form: the client secret as the proxy password (net/http sends it on every CONNECT).
    const proxy = new URL(o.proxyUrl);
    proxy.username = 'alist';
    proxy.password = o.secret;
    const env: Record<string, string> = { HTTPS_PROXY: proxy.href.replace(/\/$/, '') };
    switch (o.variant) {
      case 'go-http':
        args.push('-method', 'http', '-refresh-token', surrogate);
        break;
      case 'go-http-verify':
        args.push('-method', 'http', '-insecure=false', '-refresh-token', surrogate);
        env.SSL_CERT_FILE = o.bundleFile;
        break;
      case 'go-oauth2':
        // x/oauth2 builds its token source once around the plain secret and re-mints from it.
        args.push('-method', 'oauth2', '-refresh-token', o.secret);
        env.SSL_CERT_FILE = o.bundleFile;
        break;
    }
    const child = spawn(o.binary, args, { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.#notes.push(`could not start: ${error.message}`);
        resolve();
      });
      child.on('close', (code) => {
        const counters = this.#add(stdout, stderr);
        if (!this.#stopping) {
          this.#restarts += 1;
          const why = counters?.initError ? `init failed: ${counters.initError}` : stderr.slice(-300);
          this.#notes.push(
            `exited by itself (code ${code}) after ${this.#restarts} start(s): ${why}; started again`,
          );
          this.#restartTimer = setTimeout(() => {
            if (!this.#stopping) this.#launch();
          }, 1_000);
        }
        resolve();
      });
    });
  }

  /** Adds one run's counters (its last stdout line) to the totals. */
  #add(stdout: string, stderr: string): GoCounters | undefined {
    const line = stdout.trim().split('\n').at(-1) ?? '';
    let counters: GoCounters;
    try {
      counters = JSON.parse(line) as GoCounters;
    } catch {
      this.#missingCounters += 1;
      this.#notes.push(`no counters from the Go client: ${stdout.slice(-200)} ${stderr.slice(-200)}`);
      return undefined;
    }
    for (const key of Object.keys(this.#totals) as (keyof GoCounters)[]) {
      const value = counters[key];
      if (typeof value === 'number') (this.#totals[key] as number) += value;
    }
    if (counters.firstError && !this.#totals.firstError) this.#totals.firstError = counters.firstError;
    return counters;
  }

  /** Closes stdin (the program's stop signal) and reads its counters. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
  }

  result(loadEnd: number): ConsumerResult {
    const o = this.#o;
    const figures = (o.observer.tracker ?? new ValidityTracker(loadEnd)).figures(loadEnd);
    const c = this.#totals;
    const notes = [...this.#notes];
    if (c.firstError) notes.push(`first error: ${c.firstError}`);
    const tokenFailures: Record<string, number> = {};
    if (c.invalidGrants > 0) tokenFailures.invalid_grant = c.invalidGrants;
    if (c.refreshFailures - c.invalidGrants > 0)
      tokenFailures['failed (see the first error)'] = c.refreshFailures - c.invalidGrants;
    return {
      name: o.name,
      kind: 'bridge',
      client: 'go',
      variant: DESCRIPTIONS[o.variant],
      tokenRequests: c.refreshes + c.signIns,
      tokenFailures,
      driveCalls: o.observer.driveCalls,
      driveRejected: o.observer.refused,
      staleHandouts: null,
      driveErrors: { ...o.observer.errors },
      validUses: figures.validUses,
      longestGapMs: figures.longestGapMs,
      longestGapStartS: Math.round(figures.longestGapStartMs / 100) / 10,
      gapsOver2s: figures.gapsOver2s,
      restarts: this.#restarts,
      notes:
        this.#missingCounters > 0 ? [...notes, `${this.#missingCounters} run(s) without counters`] : notes,
    };
  }

  kill(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
  }
}
