import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import type { BrokerAccountInfo } from '../../bridge/alist-scan.js';
import type { AlistSetupInput } from '../../bridge/alist-setup.js';
import { DEFAULT_BRIDGE_ADDRESS } from '../../bridge/defaults.js';
import { AccountNotFoundError } from '../../core/broker-errors.js';
import type { AccountRecord } from '../../core/ports.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf, type CommandContext } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { bridgeAddressOrUsage } from './bridge.js';

export function alistCommand(): Command {
  const alist = new BrokerCommand('alist').description(
    'put AList / OpenList storages behind the broker: what to set, and what locks them out now',
  );
  alist.addCommand(setupCommand());
  alist.addCommand(scanCommand());
  return alist;
}

interface SetupFlags {
  account: string;
  bridge: string;
  clientSecret?: string;
  newClient?: string;
  verifyTls?: boolean;
  json?: boolean;
}

function setupCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('setup')
      .description(
        "print exactly what to set in AList for one account: the storage's fields, AList's environment " +
          '(HTTPS_PROXY, and SSL_CERT_FILE if it verifies TLS) and a docker-compose snippet',
      )
      .requiredOption('--account <name>', 'the broker account')
      .option('--bridge <address>', 'where the bridge listens', DEFAULT_BRIDGE_ADDRESS)
      .option(
        '--client-secret <secret>',
        'a client secret to fill in (from: pikpak-token-broker clients add)',
      )
      .option(
        '--new-client <name>',
        'create a client for this account in the running broker and fill in its secret',
      )
      .option('--verify-tls', 'AList verifies TLS (tls_insecure_skip_verify false): include SSL_CERT_FILE')
      .option('--json', 'machine-readable output'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<SetupFlags>(command);
    const bridge = bridgeAddressOrUsage(ctx.options.bridge, '--bridge');
    if (ctx.options.clientSecret && ctx.options.newClient)
      throw new CliError('use --client-secret or --new-client, not both', EXIT.usage);
    const record = await accountRecord(ctx, ctx.options.account);
    const clientSecret = ctx.options.newClient
      ? await newClient(ctx, ctx.options.newClient, record.name)
      : ctx.options.clientSecret;
    const input: AlistSetupInput = {
      account: record,
      bridgeAddress: bridge,
      clientSecret,
      verifyTls: ctx.options.verifyTls ?? false,
    };
    const { alistSetup, renderAlistSetup } = await import('../../bridge/alist-setup.js');
    if (ctx.options.json) process.stdout.write(`${JSON.stringify(alistSetup(input), null, 2)}\n`);
    else process.stdout.write(renderAlistSetup(input));
  });
}

async function accountRecord(ctx: CommandContext<unknown>, name: string): Promise<AccountRecord> {
  const { FileSettingsStore } = await import('../../storage/file-settings-store.js');
  const settings = await new FileSettingsStore(ctx.config.dataDir).load();
  const record = settings.accounts.find((a) => a.name === name);
  if (!record)
    throw new AccountNotFoundError(
      name,
      settings.accounts.map((a) => a.name),
    );
  return record;
}

async function newClient(ctx: CommandContext<unknown>, name: string, account: string): Promise<string> {
  const broker = await BrokerClient.require(ctx.config);
  const answer = await broker.call<{ secret?: string }>('POST', '/v1/admin/clients', {
    name,
    accounts: [account],
  });
  if (!answer.secret) throw new CliError('the broker created the client but sent no secret', EXIT.failure);
  process.stderr.write(`Created client "${name}" for account "${account}"; its secret appears below only.\n`);
  return answer.secret;
}

interface ScanFlags {
  url: string;
  token: string;
  bridge: string;
  json?: boolean;
}

function scanCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('scan')
      .description(
        "read a running AList's storages (admin API) and name every cause of the invalid_grant lock-out: " +
          'two storages of one account, refresh_token_method oauth2, storages not behind the bridge; with fixes',
      )
      .option('--url <url>', "AList's address", 'http://127.0.0.1:5244')
      .requiredOption('--token <token>', "AList's admin token (Settings → Other → Token)")
      .option('--bridge <address>', 'the bridge address to name in fixes', DEFAULT_BRIDGE_ADDRESS)
      .option('--json', 'machine-readable output'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<ScanFlags>(command);
    const bridge = bridgeAddressOrUsage(ctx.options.bridge, '--bridge');
    // valibot (the admin API's and the settings file's schemas) loads only for the commands that read them.
    const { AlistAdminError, listAlistStorages } = await import('../../bridge/alist-admin.js');
    let list;
    try {
      list = await listAlistStorages({ url: ctx.options.url, token: ctx.options.token });
    } catch (error) {
      if (error instanceof AlistAdminError)
        throw new CliError(error.message, error.kind === 'unauthorized' ? EXIT.usage : EXIT.failure);
      throw error;
    }
    const { analyseStorages, renderScan } = await import('../../bridge/alist-scan.js');
    const report = analyseStorages({
      alistUrl: ctx.options.url,
      totalStorages: list.total,
      storages: list.storages,
      brokerAccounts: await brokerAccounts(ctx),
      bridgeAddress: bridge,
    });
    process.stdout.write(ctx.options.json ? `${JSON.stringify(report, null, 2)}\n` : renderScan(report));
  });
}

/** The broker's accounts from its settings file, or undefined when it cannot be read. */
async function brokerAccounts(ctx: CommandContext<unknown>): Promise<BrokerAccountInfo[] | undefined> {
  try {
    const { FileSettingsStore } = await import('../../storage/file-settings-store.js');
    const settings = await new FileSettingsStore(ctx.config.dataDir).load();
    return settings.accounts.map((a) => ({ name: a.name, username: a.username, deviceId: a.deviceId }));
  } catch (error) {
    ctx.log.warn({ error: (error as Error).message }, "could not read the broker's settings");
    return undefined;
  }
}
