import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startLockProcess, type LockProcess } from '../../e2e/support/lock-process.js';
import { LockHeldError, type LockHolder } from '../core/errors/index.js';
import {
  acquireInstanceLock,
  isProcessAlive,
  readLockHolder,
  readLockStatus,
  type InstanceLock,
} from './instance-lock.js';

const roots: string[] = [];
const children: LockProcess[] = [];
const locks: InstanceLock[] = [];
after(async () => {
  for (const child of children) await child.kill().catch(() => undefined);
  for (const lock of locks) await lock.release().catch(() => undefined);
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function tempDataDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pikpak-lock-'));
  roots.push(root);
  return join(root, 'data');
}

async function acquire(dataDir: string, command = 'test'): Promise<InstanceLock> {
  const lock = await acquireInstanceLock(dataDir, { command, releaseOnExit: false });
  locks.push(lock);
  return lock;
}

/** The pid of a process that has just exited (and was reaped): nobody has it now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  assert.ok(child.pid);
  assert.equal(isProcessAlive(child.pid), false);
  return child.pid;
}

async function writeLock(dataDir: string, holder: Partial<LockHolder> | string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'broker.lock');
  await writeFile(path, typeof holder === 'string' ? holder : JSON.stringify(holder), { mode: 0o600 });
  return path;
}

function startChild(dataDir: string, options: Parameters<typeof startLockProcess>[1] = {}): LockProcess {
  const child = startLockProcess(dataDir, options);
  children.push(child);
  return child;
}

describe('acquireInstanceLock in one process', () => {
  test('creates broker.lock (0600) holding pid, hostname, startedAt and command', async () => {
    const dataDir = await tempDataDir();
    const before = Date.now();
    const lock = await acquire(dataDir, 'daemon');
    assert.equal(lock.path, join(dataDir, 'broker.lock'));
    const content = JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder;
    assert.deepEqual(content, lock.holder);
    assert.equal(content.pid, process.pid);
    assert.equal(content.hostname, hostname());
    assert.equal(content.command, 'daemon');
    assert.ok(content.startedAt >= before && content.startedAt <= Date.now());
    if (process.platform !== 'win32') {
      assert.equal((await stat(lock.path)).mode & 0o777, 0o600);
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    }
  });

  test('a second acquisition throws LockHeldError naming the holder', async () => {
    const dataDir = await tempDataDir();
    const first = await acquire(dataDir, 'tray');
    await assert.rejects(acquire(dataDir, 'daemon'), (error: unknown) => {
      assert.ok(error instanceof LockHeldError);
      assert.equal(error.code, 'lock_held');
      assert.equal(error.lockPath, first.path);
      assert.deepEqual(error.holder, first.holder);
      assert.match(error.message, new RegExp(`pid ${process.pid}\\b`));
      assert.match(error.message, /tray/);
      return true;
    });
  });

  test('release removes the file, is idempotent, and the lock can be taken again', async () => {
    const dataDir = await tempDataDir();
    const lock = await acquire(dataDir);
    await lock.release();
    await lock.release();
    await assert.rejects(stat(lock.path), { code: 'ENOENT' });
    const again = await acquire(dataDir);
    assert.equal((await stat(again.path)).isFile(), true);
  });

  test('release leaves a lock that is no longer ours alone', async () => {
    const dataDir = await tempDataDir();
    const lock = await acquire(dataDir);
    const other = JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: 1, command: 'other' });
    await writeFile(lock.path, other);
    await lock.release();
    assert.equal(await readFile(lock.path, 'utf8'), other);
  });

  test('a stale lock (dead pid) is taken over', async () => {
    const dataDir = await tempDataDir();
    const pid = await deadPid();
    await writeLock(dataDir, { pid, hostname: hostname(), startedAt: 1, command: 'crashed' });
    const lock = await acquire(dataDir);
    assert.equal(lock.holder.pid, process.pid);
    assert.equal((JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder).pid, process.pid);
    assert.deepEqual(await readdir(dataDir), ['broker.lock'], 'no take-over leftovers');
  });

  test('a lock from another host counts as held, even if that pid is free here', async () => {
    const dataDir = await tempDataDir();
    const holder = { pid: await deadPid(), hostname: `not-${hostname()}`, startedAt: 1, command: 'daemon' };
    await writeLock(dataDir, holder);
    await assert.rejects(acquire(dataDir), (error: unknown) => {
      assert.ok(error instanceof LockHeldError);
      assert.deepEqual(error.holder, holder);
      assert.match(error.message, /another machine/);
      return true;
    });
    assert.deepEqual(await readLockHolder(dataDir), holder);
    assert.equal((await readLockStatus(dataDir))?.state, 'other-host');
  });

  test('a half-written lock is held while young, stale when old', async () => {
    const dataDir = await tempDataDir();
    const path = await writeLock(dataDir, '');
    await assert.rejects(acquire(dataDir), (error: unknown) => {
      assert.ok(error instanceof LockHeldError);
      assert.equal(error.holder, undefined);
      assert.match(error.message, /starting/);
      return true;
    });
    assert.equal((await readLockStatus(dataDir))?.state, 'starting');
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    assert.equal((await readLockStatus(dataDir))?.state, 'stale');
    const lock = await acquire(dataDir);
    assert.equal(lock.holder.pid, process.pid);
  });

  test('pids that would signal a process group (0, negative) are never probed', async () => {
    assert.equal(isProcessAlive(0), false);
    assert.equal(isProcessAlive(-1), false);
    assert.equal(isProcessAlive(1.5), false);
    assert.equal(isProcessAlive(process.pid), true);
    assert.equal(isProcessAlive(1), true, 'pid 1 exists (EPERM when not ours counts as alive)');
    const dataDir = await tempDataDir();
    const path = await writeLock(dataDir, { pid: 0, hostname: hostname(), startedAt: 1, command: 'x' });
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    assert.equal((await readLockStatus(dataDir))?.state, 'stale');
  });

  test('a take-over lock left behind by a crash does not block forever', async () => {
    const dataDir = await tempDataDir();
    await writeLock(dataDir, {
      pid: await deadPid(),
      hostname: hostname(),
      startedAt: 1,
      command: 'crashed',
    });
    const takeover = join(dataDir, 'broker.lock.takeover');
    await writeFile(takeover, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(takeover, old, old);
    const lock = await acquire(dataDir);
    assert.equal(lock.holder.pid, process.pid);
    assert.deepEqual(await readdir(dataDir), ['broker.lock']);
  });

  test('readLockHolder / readLockStatus', async () => {
    const dataDir = await tempDataDir();
    assert.equal(await readLockHolder(dataDir), undefined);
    assert.equal(await readLockStatus(dataDir), undefined);
    const lock = await acquire(dataDir, 'tray');
    assert.deepEqual(await readLockHolder(dataDir), lock.holder);
    assert.deepEqual(await readLockStatus(dataDir), {
      state: 'held',
      lockPath: lock.path,
      holder: lock.holder,
    });
    await lock.release();
    const stale = { pid: await deadPid(), hostname: hostname(), startedAt: 5, command: 'gone' };
    await writeLock(dataDir, stale);
    assert.equal(await readLockHolder(dataDir), undefined, 'a stale lock has no holder');
    assert.deepEqual(await readLockStatus(dataDir), { state: 'stale', lockPath: lock.path, holder: stale });
  });

  test('10 parallel take-overs of a stale lock: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const dataDir = await tempDataDir();
      await writeLock(dataDir, {
        pid: await deadPid(),
        hostname: hostname(),
        startedAt: 1,
        command: 'crashed',
      });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          acquireInstanceLock(dataDir, { command: `racer-${i}`, releaseOnExit: false }),
        ),
      );
      const winners = results.filter((r) => r.status === 'fulfilled');
      const losers = results.filter((r) => r.status === 'rejected');
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      for (const loser of losers) assert.ok(loser.reason instanceof LockHeldError, String(loser.reason));
      const winner = (winners[0] as PromiseFulfilledResult<InstanceLock>).value;
      assert.deepEqual(JSON.parse(await readFile(winner.path, 'utf8')), winner.holder);
      await winner.release();
    }
  });
});

describe('acquireInstanceLock across processes', () => {
  test('a live second process holds it; once SIGKILLed, its stale lock is taken over', async () => {
    const dataDir = await tempDataDir();
    const child = startChild(dataDir, { command: 'daemon' });
    const attempt = await child.attempt();
    assert.ok(attempt.ok, JSON.stringify(attempt));
    assert.equal(attempt.pid, child.pid);

    await assert.rejects(acquire(dataDir, 'tray'), (error: unknown) => {
      assert.ok(error instanceof LockHeldError);
      assert.equal(error.holder?.pid, child.pid);
      assert.equal(error.holder?.command, 'daemon');
      assert.match(error.message, new RegExp(`pid ${child.pid}\\b`));
      return true;
    });
    assert.equal((await readLockHolder(dataDir))?.pid, child.pid);

    await child.kill();
    assert.equal((await readLockStatus(dataDir))?.state, 'stale', 'SIGKILL leaves the file behind');
    const lock = await acquire(dataDir, 'tray');
    assert.equal(lock.holder.pid, process.pid);
  });

  test('the other process cannot take a lock this process holds', async () => {
    const dataDir = await tempDataDir();
    const lock = await acquire(dataDir, 'tray');
    const child = startChild(dataDir);
    const attempt = await child.attempt();
    assert.equal(attempt.ok, false);
    assert.ok(!attempt.ok);
    assert.equal(attempt.code, 'lock_held');
    assert.equal(attempt.holder?.pid, lock.holder.pid);
    assert.equal(await child.close(), 0);
  });

  test('released on exit: by release(), and by the exit handler when the process just exits', async () => {
    for (const onClose of ['release', 'exit'] as const) {
      const dataDir = await tempDataDir();
      const child = startChild(dataDir, { onClose });
      assert.ok((await child.attempt()).ok);
      assert.equal((await readLockHolder(dataDir))?.pid, child.pid);
      assert.equal(await child.close(), 0);
      assert.equal(await readLockStatus(dataDir), undefined, `${onClose}: lock file removed`);
    }
  });

  test('10 processes racing for a stale lock: exactly one wins', async () => {
    const dataDir = await tempDataDir();
    await writeLock(dataDir, {
      pid: await deadPid(),
      hostname: hostname(),
      startedAt: 1,
      command: 'crashed',
    });
    const racers = Array.from({ length: 10 }, (_, i) => startChild(dataDir, { command: `racer-${i}` }));
    await Promise.all(racers.map((r) => r.ready));
    const attempts = await Promise.all(racers.map((r) => r.attempt()));
    const winners = attempts.filter((a) => a.ok);
    assert.equal(winners.length, 1, JSON.stringify(attempts));
    const winner = winners[0];
    assert.ok(winner?.ok);
    for (const attempt of attempts) {
      if (attempt.ok) continue;
      assert.equal(attempt.code, 'lock_held', JSON.stringify(attempt));
    }
    assert.equal((await readLockHolder(dataDir))?.pid, winner.pid);
    await Promise.all(racers.map((r) => r.close()));
    assert.equal(await readLockStatus(dataDir), undefined);
  });
});
