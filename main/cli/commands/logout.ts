import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { BrokerClient } from '../broker-client.js';

export function logoutCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('logout')
      .description(
        'forget an account: its refresh token and password leave the keychain, its settings are removed',
      )
      .requiredOption('--account <name>', 'the account to forget'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ account: string }>(command);
    const daemon = await BrokerClient.connect(ctx.config);
    if (daemon) {
      await daemon.call('POST', '/v1/admin/logout', { account: ctx.options.account });
      process.stdout.write(
        `Logged out: account "${ctx.options.account}" and its keychain entries are gone.\n`,
      );
      return;
    }
    const { withLocalBroker } = await import('../local-broker.js'); // the whole broker, only without a daemon
    await withLocalBroker(ctx, 'logout', async (broker) => {
      broker.keeper(ctx.options.account); // unknown account → clear error before anything changes
      await broker.logout(ctx.options.account);
      process.stdout.write(
        `Logged out: account "${ctx.options.account}" and its keychain entries are gone.\n`,
      );
    });
  });
}
