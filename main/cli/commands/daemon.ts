import { Command } from 'commander';
import { startDaemon } from '../../daemon.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';

export function daemonCommand(): Command {
  return addCommonOptions(
    new Command('daemon')
      .description("run the broker headless: keep every account's token fresh (one refresher per machine)")
      .option(
        '--wait-for-lock',
        'if another broker holds the data folder, wait for it to stop instead of exiting',
      )
      .option(
        '--listen <address>',
        'also serve the token service on TCP, loopback only (e.g. 127.0.0.1:8765); off by default',
      ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ waitForLock?: boolean; listen?: string }>(command, 'info');
    const daemon = await startDaemon(ctx.config, ctx.log, {
      waitForLock: ctx.options.waitForLock ?? false,
      listen: ctx.options.listen,
    });
    await daemon.closed;
  });
}
