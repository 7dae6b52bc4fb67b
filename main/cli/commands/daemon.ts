import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { bridgeAddressOrUsage } from './bridge.js';

export function daemonCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('daemon')
      .description("run the broker headless: keep every account's token fresh (one refresher per machine)")
      .option(
        '--wait-for-lock',
        'if another broker holds the data folder, wait for it to stop instead of exiting',
      )
      .option(
        '--listen <address>',
        'also serve the token service on TCP, loopback only (e.g. 127.0.0.1:8765); off by default',
      )
      .option(
        '--bridge <address>',
        'also run the AList bridge (HTTPS_PROXY for AList) here, loopback only (e.g. 127.0.0.1:5288)',
      ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ waitForLock?: boolean; listen?: string; bridge?: string }>(command, 'info');
    const bridge =
      ctx.options.bridge === undefined ? undefined : bridgeAddressOrUsage(ctx.options.bridge, '--bridge');
    const { startDaemon } = await import('../../daemon.js'); // loaded by the command that runs it
    const daemon = await startDaemon(ctx.config, ctx.log, {
      waitForLock: ctx.options.waitForLock ?? false,
      listen: ctx.options.listen,
      bridge,
      bridgeUpstream: { upstreamCaFile: ctx.config.upstream.upstreamCaFile },
    });
    await daemon.closed;
  });
}
