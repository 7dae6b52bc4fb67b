import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';

interface TokenAnswer {
  account: string;
  access_token: string;
  token_type: string;
  expires_at: string;
  expires_in: number;
  user_id: string;
  device_id: string;
}

export function tokenCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('token')
      .description(
        "print the account's current access token (short-lived; the refresh token never leaves the broker)",
      )
      .requiredOption('--account <name>', 'the account')
      .option('--json', 'print token, type, expiry, user id and device id as JSON')
      .addHelpText(
        'after',
        '\nExample:\n  curl -H "Authorization: Bearer $(pikpak-token-broker token --account main)" https://api-drive.mypikpak.net/drive/v1/about',
      ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ account: string; json?: boolean }>(command);
    const broker = await BrokerClient.require(ctx.config);
    const answer = await broker.call<TokenAnswer>(
      'GET',
      `/v1/accounts/${encodeURIComponent(ctx.options.account)}/token`,
    );
    process.stdout.write(
      ctx.options.json ? `${JSON.stringify(answer, null, 2)}\n` : `${answer.access_token}\n`,
    );
  });
}
