/**
 * Plumbing for the keychain-fault and canary suites: the broker daemon as a child process (the
 * real CLI, or keychain-daemon.ts when a keeper option must be shorter), HTTP over its socket, its
 * live status, and a look into the keychain from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, spawnCli, waitFor } from '../support/cli-process.js';
import { runKeyringChild } from '../support/keyring-session.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRAPPER = join(REPO_ROOT, 'e2e', 'reliability', 'keychain-daemon.ts');

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves at exit with the code (or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DaemonStart {
  readonly args: readonly string[];
  readonly env: Record<string, string | undefined>;
  /** Run e2e/reliability/keychain-daemon.ts instead of the real CLI (for keeper overrides). */
  readonly wrapper?: boolean;
}

/** Starts the daemon and waits until its socket answers `GET /v1/health`. */
export async function startDaemonProcess(start: DaemonStart, socketPath: string): Promise<DaemonProcess> {
  const child = start.wrapper
    ? spawn(process.execPath, ['--import', 'tsx', WRAPPER, ...start.args], {
        cwd: REPO_ROOT,
        env: childEnv(start.env),
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawnCli(['daemon', ...start.args], { env: start.env });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin!.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const daemon: DaemonProcess = {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!gone) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await waitFor(
      async () => {
        if (gone) throw new Error(`the daemon exited early: ${err.slice(-2000)}`);
        return (await socketCall(socketPath, 'GET', '/v1/health').catch(() => undefined))?.status === 200;
      },
      'the daemon to answer on its socket',
      60_000,
    );
  } catch (error) {
    await daemon.stop('SIGKILL');
    throw error;
  }
  return daemon;
}

export interface SocketAnswer {
  readonly status: number;
  readonly text: string;
  json<T = unknown>(): T;
}

export interface SocketCallOptions {
  readonly bearer?: string | undefined;
  /** A string is sent as it is (with `contentType`), anything else as JSON. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

/** One HTTP/1.1 request over the broker's Unix socket. */
export function socketCall(
  socketPath: string,
  method: string,
  path: string,
  options: SocketCallOptions = {},
): Promise<SocketAnswer> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { host: 'localhost' };
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path, method, headers, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            json: <T>() => JSON.parse(text) as T,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** `GET /v1/status` as the service answers it (see main/service/json-view.ts). */
export interface LiveStatus {
  health: string;
  keychain: { available: boolean; problem: string | null; pending_writes: number; description: string };
  accounts: {
    name: string;
    health: string;
    state: string;
    description: string;
    expires_at: string | null;
    state_detail: { type: string; unsaved?: boolean; reason?: string; message?: string };
  }[];
}

export async function adminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
}

export async function liveStatus(socketPath: string, dataDir: string): Promise<LiveStatus> {
  const answer = await socketCall(socketPath, 'GET', '/v1/status', { bearer: await adminToken(dataDir) });
  if (answer.status !== 200) throw new Error(`GET /v1/status: HTTP ${answer.status} ${answer.text}`);
  return answer.json<LiveStatus>();
}

/** Polls the live status until `predicate` holds; returns that status. */
export async function waitForStatus(
  socketPath: string,
  dataDir: string,
  predicate: (status: LiveStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<LiveStatus> {
  let last: LiveStatus | undefined;
  try {
    await waitFor(
      async () => {
        last = await liveStatus(socketPath, dataDir).catch(() => last);
        return last !== undefined && predicate(last);
      },
      what,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last)}`);
  }
  return last!;
}

/** A new client through the admin API; returns its secret. */
export async function addClient(
  socketPath: string,
  dataDir: string,
  name: string,
  accounts: string[] = ['*'],
): Promise<string> {
  const answer = await socketCall(socketPath, 'POST', '/v1/admin/clients', {
    bearer: await adminToken(dataDir),
    body: { name, accounts },
  });
  if (answer.status !== 201) throw new Error(`add client: HTTP ${answer.status} ${answer.text}`);
  return answer.json<{ secret: string }>().secret;
}

/** What the keychain holds for `account`'s refresh token, read by a process of its own. */
export async function keychainRefreshToken(
  env: Readonly<Record<string, string>>,
  service: string,
  account: string,
): Promise<string | null> {
  const [outcome] = await runKeyringChild(env, {
    service,
    timeoutMs: 20_000,
    ops: [{ op: 'get', account, kind: 'refresh-token' }],
  });
  if (!outcome?.ok) throw new Error(`keychain read failed: ${JSON.stringify(outcome)}`);
  return outcome.value ?? null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
