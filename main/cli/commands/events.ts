import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';

export function eventsCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('events')
      .description('follow the broker: health changes, rotations, re-login needed (Ctrl-C to stop)')
      .option('--json', 'one JSON object per line'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ json?: boolean }>(command);
    const broker = await BrokerClient.require(ctx.config);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await broker.follow((event, data) => {
      const d = data as Record<string, unknown>;
      if (ctx.options.json) return void process.stdout.write(`${JSON.stringify({ event, ...d })}\n`);
      const time = new Date().toLocaleTimeString();
      const line =
        event === 'rotated'
          ? `account ${String(d.account)}: token rotated, access token valid until ${String(d.expires_at)}`
          : event === 'state'
            ? `account ${String(d.account)}: ${String(d.health)} — ${String(d.description)}`
            : event === 'reauth-required'
              ? `account ${String(d.account)}: RE-LOGIN NEEDED — ${String(d.message)}`
              : `${event}: ${JSON.stringify(d)}`;
      process.stdout.write(`${time}  ${line}\n`);
    }, stop.signal);
  });
}
