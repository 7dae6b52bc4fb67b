import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { checkServiceFlags } from '../check-flags.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { bridgeOption, listenOption, notifyCommandOption } from '../service-flags.js';

export interface DaemonFlags {
  waitForLock?: boolean;
  listen?: string;
  bridge?: string;
  notifyCommand?: string;
}

export function daemonCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('daemon')
      .description("run the broker headless: keep every account's token fresh (one refresher per machine)")
      .option(
        '--wait-for-lock',
        'if another broker holds the data folder, wait for it to stop instead of exiting',
      )
      .addOption(listenOption())
      .addOption(bridgeOption())
      .addOption(notifyCommandOption()),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<DaemonFlags>(command, 'info');
    checkServiceFlags(ctx.options);
    const { startDaemon } = await import('../../daemon.js'); // loaded by the command that runs it
    const daemon = await startDaemon(ctx.config, ctx.log, {
      waitForLock: ctx.options.waitForLock ?? false,
      listen: ctx.options.listen,
      bridge: ctx.options.bridge,
      bridgeUpstream: { upstreamCaFile: ctx.config.upstream.upstreamCaFile },
      notifyCommand: ctx.options.notifyCommand,
    });
    await daemon.closed;
  });
}
