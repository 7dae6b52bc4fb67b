/**
 * "One refresher per machine" (DESIGN.md, rule 2): an exclusive lock file `broker.lock` in the
 * data folder, created atomically (`open(…, 'wx')`) and holding `{pid, hostname, startedAt, command}`.
 *
 * A lock whose process is gone (`kill(pid, 0)` → ESRCH) is stale and taken over. Taking over is
 * the racy part (two starters both see the stale file; the slower one must not delete the lock
 * the faster one has just created), so it happens under a second, short-lived lock
 * (`broker.lock.takeover`, also `wx`): its holder re-reads the lock, checks that it is still the
 * very file (same inode and content) found stale, and only then removes it; creating the new lock
 * is again a plain `wx`, so exactly one starter wins.
 *
 * A lock written by another host (shared or NFS data folder) cannot be checked and counts as held.
 * A pid that was reused by an unrelated process also counts as held (the message says which pid).
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { LockHeldError, type LockHolder } from '../core/errors/index.js';
import { ensurePrivateDir } from './paths.js';

export type { LockHolder };

export const LOCK_FILE = 'broker.lock';
const TAKEOVER_SUFFIX = '.takeover';
/** A lock file still unparsable after this long was left half-written by a crash. */
const HALF_WRITTEN_GRACE_MS = 10_000;
/** The take-over lock is held for milliseconds; one older than this was left by a crash. */
const TAKEOVER_STALE_MS = 10_000;
const TAKEOVER_WAIT_MS = 5_000;

export interface AcquireOptions {
  /** What this process runs, shown to whoever finds the lock held (e.g. `daemon`, `tray`). */
  command: string;
  /** Release the lock when the process exits (default true). */
  releaseOnExit?: boolean;
}

export interface InstanceLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

export type LockStatus =
  /** The holder is running on this machine (or its pid belongs to another user's live process). */
  | { state: 'held'; lockPath: string; holder: LockHolder }
  /** The holder is gone; the next start takes the lock over. */
  | { state: 'stale'; lockPath: string; holder: LockHolder | undefined }
  /** Written by another host: liveness cannot be checked from here. */
  | { state: 'other-host'; lockPath: string; holder: LockHolder }
  /** Just created and not written yet (its owner is starting). */
  | { state: 'starting'; lockPath: string; holder: undefined };

interface LockFile {
  holder: LockHolder | undefined;
  raw: string;
  ino: number;
  mtimeMs: number;
}

export async function acquireInstanceLock(dataDir: string, options: AcquireOptions): Promise<InstanceLock> {
  await ensurePrivateDir(dataDir);
  const lockPath = join(dataDir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: Date.now(),
    command: options.command,
  };
  const content = JSON.stringify(me);

  // Each round either creates the lock, throws because it is held, or removes a stale one;
  // a few rounds cover a lock that vanishes or goes stale between our steps.
  for (let round = 0; round < 5; round++) {
    if (await tryCreate(lockPath, content))
      return new OwnedLock(lockPath, me, content, options.releaseOnExit ?? true);
    const found = await readLockFile(lockPath);
    if (!found) continue; // released in between: try again
    const status = judge(lockPath, found);
    if (status.state !== 'stale')
      throw new LockHeldError(lockPath, status.holder, { localHostname: me.hostname });
    await removeIfStillStale(lockPath, found);
  }
  const last = await readLockFile(lockPath);
  throw new LockHeldError(lockPath, last?.holder, { localHostname: me.hostname });
}

/**
 * The process holding the lock, for status displays: undefined when nobody does (no lock file, a
 * stale one, or one still being written). A holder on another host counts as holding.
 */
export async function readLockHolder(dataDir: string): Promise<LockHolder | undefined> {
  const status = await readLockStatus(dataDir);
  return status?.state === 'held' || status?.state === 'other-host' ? status.holder : undefined;
}

/** The lock file as `acquireInstanceLock` would judge it; undefined when there is none. */
export async function readLockStatus(dataDir: string): Promise<LockStatus | undefined> {
  const lockPath = join(dataDir, LOCK_FILE);
  const found = await readLockFile(lockPath);
  return found ? judge(lockPath, found) : undefined;
}

/** Whether a process with this pid exists on this machine (EPERM: it does, but is another user's). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false; // kill(0 or -n) would signal a group
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class OwnedLock implements InstanceLock {
  readonly path: string;
  readonly holder: LockHolder;
  readonly #content: string;
  #released = false;
  readonly #onExit: (() => void) | undefined;

  constructor(path: string, holder: LockHolder, content: string, releaseOnExit: boolean) {
    this.path = path;
    this.holder = holder;
    this.#content = content;
    if (releaseOnExit) {
      this.#onExit = () => this.#releaseSync();
      process.once('exit', this.#onExit);
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#onExit) process.removeListener('exit', this.#onExit);
    const current = await readFile(this.path, 'utf8').catch(() => undefined);
    if (current === this.#content) await unlink(this.path).catch(ignoreEnoent);
  }

  /** On exit only synchronous work runs. */
  #releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      if (readFileSync(this.path, 'utf8') === this.#content) unlinkSync(this.path);
    } catch {
      // already gone, or not ours to remove
    }
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return true;
}

async function readLockFile(path: string): Promise<LockFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    // Inode and content from the same open file, so they describe the same lock.
    const info = await handle.stat();
    const raw = await handle.readFile('utf8');
    return { holder: parseHolder(raw), raw, ino: info.ino, mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const data: unknown = JSON.parse(raw);
    if (typeof data !== 'object' || data === null) return undefined;
    const { pid, hostname, startedAt, command } = data as Record<string, unknown>;
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof hostname !== 'string') return undefined;
    return {
      pid: pid as number,
      hostname,
      startedAt: typeof startedAt === 'number' ? startedAt : Number.NaN,
      command: typeof command === 'string' ? command : '',
    };
  } catch {
    return undefined;
  }
}

function judge(lockPath: string, found: LockFile): LockStatus {
  const { holder } = found;
  if (!holder) {
    return Date.now() - found.mtimeMs < HALF_WRITTEN_GRACE_MS
      ? { state: 'starting', lockPath, holder: undefined }
      : { state: 'stale', lockPath, holder: undefined };
  }
  if (holder.hostname !== osHostname()) return { state: 'other-host', lockPath, holder };
  return isProcessAlive(holder.pid)
    ? { state: 'held', lockPath, holder }
    : { state: 'stale', lockPath, holder };
}

/** Under the take-over lock: remove `lockPath` only if it is still exactly the stale file we judged. */
async function removeIfStillStale(lockPath: string, stale: LockFile): Promise<void> {
  const takeoverPath = lockPath + TAKEOVER_SUFFIX;
  const handle = await acquireTakeover(takeoverPath);
  if (!handle) return; // someone else is taking over; the caller's next round sees the outcome
  try {
    const again = await readLockFile(lockPath);
    if (
      again &&
      again.ino === stale.ino &&
      again.raw === stale.raw &&
      judge(lockPath, again).state === 'stale'
    ) {
      await unlink(lockPath).catch(ignoreEnoent);
    }
  } finally {
    await handle.close().catch(() => undefined);
    await unlink(takeoverPath).catch(ignoreEnoent);
  }
}

/**
 * Takes `broker.lock.takeover`, waiting while another starter holds it. Returns undefined when
 * waiting ran out (the other starter is still at it). A take-over lock older than
 * TAKEOVER_STALE_MS was left by a crash and is removed.
 */
async function acquireTakeover(path: string): Promise<FileHandle | undefined> {
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    try {
      return await open(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > TAKEOVER_STALE_MS) {
      await unlink(path).catch(ignoreEnoent);
      continue;
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
  }
}

function ignoreEnoent(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
