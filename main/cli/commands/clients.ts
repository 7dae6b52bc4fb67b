import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { formatTime, table } from '../format.js';

interface ClientAnswer {
  name: string;
  accounts: string[];
  created_at: string;
  last_used_at: string | null;
  secret?: string;
  unknown_accounts?: string[];
}

export function clientsCommand(): Command {
  const clients = new BrokerCommand('clients').description(
    'consumers allowed to get tokens (AList storages, scripts): each has its own secret',
  );
  clients.addCommand(
    addCommonOptions(
      new BrokerCommand('add')
        .description('create a client and print its secret once (keep it: it is stored only as a hash)')
        .argument('<name>', 'a name for the consumer, e.g. alist-home')
        .option('--account <name...>', 'accounts it may use (repeatable; default: all)'),
    ).action(async (name: string, _opts, command: Command) => {
      const ctx = contextOf<{ account?: string[] }>(command);
      const broker = await BrokerClient.require(ctx.config);
      const answer = await broker.call<ClientAnswer>('POST', '/v1/admin/clients', {
        name,
        accounts: ctx.options.account?.length ? ctx.options.account : ['*'],
      });
      process.stderr.write(
        `Client "${answer.name}" may use ${answer.accounts.includes('*') ? 'every account' : `account(s) ${answer.accounts.join(', ')}`}.\n` +
          (answer.unknown_accounts?.length
            ? `Note: no account named ${answer.unknown_accounts.join(', ')} yet.\n`
            : '') +
          'Its secret (shown only this once):\n',
      );
      process.stdout.write(`${answer.secret ?? ''}\n`);
    }),
  );
  clients.addCommand(
    addCommonOptions(
      new BrokerCommand('list')
        .description('list clients (never their secrets)')
        .option('--json', 'machine-readable output'),
    ).action(async (_opts, command: Command) => {
      const ctx = contextOf<{ json?: boolean }>(command);
      const broker = await BrokerClient.require(ctx.config);
      const list = await broker.call<ClientAnswer[]>('GET', '/v1/admin/clients');
      if (ctx.options.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      if (list.length === 0)
        return void process.stdout.write('No clients. Add one with: pikpak-token-broker clients add NAME\n');
      const rows = [['CLIENT', 'ACCOUNTS', 'CREATED', 'LAST USED']];
      for (const c of list)
        rows.push([
          c.name,
          c.accounts.join(','),
          formatTime(Date.parse(c.created_at)),
          c.last_used_at ? formatTime(Date.parse(c.last_used_at)) : 'never',
        ]);
      process.stdout.write(`${table(rows)}\n`);
    }),
  );
  clients.addCommand(
    addCommonOptions(
      new BrokerCommand('revoke')
        .description('revoke a client: its secret stops working at once')
        .argument('<name>', 'the client'),
    ).action(async (name: string, _opts, command: Command) => {
      const ctx = contextOf(command);
      const broker = await BrokerClient.require(ctx.config);
      await broker.call('DELETE', `/v1/admin/clients/${encodeURIComponent(name)}`);
      process.stdout.write(`Revoked client "${name}".\n`);
    }),
  );
  return clients;
}
