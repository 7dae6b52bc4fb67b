/**
 * A second process for the instance-lock tests. Usage:
 *   node --import tsx e2e/support/lock-child.ts <dataDir> <command> [release|exit]
 * Prints `{"ready":true}` once loaded, waits for a line on stdin, tries to take the lock, prints
 * the outcome as one JSON line and then holds the lock until stdin closes; then it either
 * releases it (`release`, the default) or just exits (`exit`, leaving it to the exit handler).
 * SIGKILL leaves the lock behind, stale.
 */
import { createInterface } from 'node:readline';
import { LockHeldError } from '../../main/core/errors/index.js';
import { acquireInstanceLock, type InstanceLock } from '../../main/storage/instance-lock.js';

const [dataDir, command = 'lock-child', onClose = 'release'] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: lock-child.ts <dataDir> <command> [release|exit]');

const lines = createInterface({ input: process.stdin });
let lock: InstanceLock | undefined;
let started = false;

lines.on('line', () => {
  if (started) return;
  started = true;
  acquireInstanceLock(dataDir, { command }).then(
    (acquired) => {
      lock = acquired;
      print({ ok: true, pid: process.pid, holder: acquired.holder });
    },
    (error: unknown) => {
      if (error instanceof LockHeldError)
        print({ ok: false, code: error.code, holder: error.holder ?? null });
      else
        print({ ok: false, code: 'error', message: error instanceof Error ? error.message : String(error) });
    },
  );
});

lines.on('close', () => {
  if (onClose === 'exit' || !lock) process.exit(0);
  lock.release().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

print({ ready: true });
