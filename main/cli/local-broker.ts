/**
 * Runs a command against the broker in this process, when no daemon is running: it takes the
 * data directory's lock for the duration, so it can never race a daemon or another command.
 */
import type { Broker } from '../core/broker.js';
import { LockHeldError } from '../core/errors/index.js';
import { openBroker } from '../runtime/open-broker.js';
import { acquireInstanceLock } from '../storage/instance-lock.js';
import { ensurePrivateDir } from '../storage/paths.js';
import type { CommandContext } from './context.js';
import { CliError, EXIT } from './exit-codes.js';

export async function withLocalBroker<T>(
  ctx: CommandContext<unknown>,
  command: string,
  fn: (broker: Broker) => Promise<T>,
): Promise<T> {
  await ensurePrivateDir(ctx.config.dataDir);
  let lock;
  try {
    lock = await acquireInstanceLock(ctx.config.dataDir, { command });
  } catch (error) {
    if (error instanceof LockHeldError)
      throw new CliError(
        `${error.message.replace(/\.$/, '')}. Run this command while that broker is reachable on its socket, or stop it first.`,
        EXIT.lockHeld,
      );
    throw error;
  }
  try {
    // One-shot: sign in or out and exit; refreshing is the daemon's job.
    const broker = await openBroker(ctx.config, ctx.log, { keeperOptions: { backgroundRefresh: false } });
    try {
      return await fn(broker);
    } finally {
      await broker.stop();
    }
  } finally {
    await lock.release();
  }
}
