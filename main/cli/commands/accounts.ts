import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { table } from '../format.js';
import type { LiveStatus } from './status.js';

export function accountsCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('accounts')
      .description('list the accounts of the running broker')
      .option('--json', 'machine-readable output'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ json?: boolean }>(command);
    const broker = await BrokerClient.require(ctx.config);
    const { accounts } = await broker.call<LiveStatus>('GET', '/v1/status');
    if (ctx.options.json) {
      process.stdout.write(`${JSON.stringify(accounts, null, 2)}\n`);
      return;
    }
    if (accounts.length === 0) {
      process.stdout.write(
        'No account yet. Add one with: pikpak-token-broker login --account NAME --username USER\n',
      );
      return;
    }
    const rows = [['ACCOUNT', 'USER', 'PLATFORM', 'HEALTH', 'DEVICE ID']];
    for (const a of accounts) rows.push([a.name, a.username, a.platform, a.health, a.device_id]);
    process.stdout.write(`${table(rows)}\n`);
  });
}
