/** Drives e2e/support/lock-child.ts: another process that takes (and holds) the instance lock. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LockHolder } from '../../main/core/errors/index.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD_SCRIPT = join(REPO_ROOT, 'e2e', 'support', 'lock-child.ts');

export type LockAttempt =
  | { ok: true; pid: number; holder: LockHolder }
  | { ok: false; code: string; holder?: LockHolder | null; message?: string };

export interface LockProcess {
  readonly pid: number;
  /** Resolves once the child has loaded its modules and waits for `attempt()`. */
  readonly ready: Promise<void>;
  /** Tells the child to take the lock now; resolves with what happened. */
  attempt(): Promise<LockAttempt>;
  /** Closes the child's stdin: it releases (or just exits, per `onClose`) and exits. */
  close(): Promise<number | null>;
  /** SIGKILL: no exit handler runs, the lock file stays behind. Resolves once the child is reaped. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export function startLockProcess(
  dataDir: string,
  options: { command?: string; onClose?: 'release' | 'exit' } = {},
): LockProcess {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD_SCRIPT, dataDir, options.command ?? 'lock-child', options.onClose ?? 'release'],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const messages: unknown[] = [];
  const waiters: Array<(message: unknown) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message: unknown = JSON.parse(line);
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else messages.push(message);
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const queued = messages.shift();
      if (queued !== undefined) return resolve(queued);
      waiters.push(resolve);
      void exited.then((code) => reject(new Error(`lock child exited (${code}) early: ${stderr}`)));
    });
  const ready = next().then(() => undefined);
  return {
    pid: child.pid ?? -1,
    ready,
    exited,
    async attempt() {
      await ready;
      child.stdin.write('go\n');
      return (await next()) as LockAttempt;
    },
    async close() {
      child.stdin.end();
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
