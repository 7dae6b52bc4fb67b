import type { Command } from 'commander';
import { Option } from 'commander';
import { KEYCHAIN_ALTERNATIVE } from '../../runtime/open-secret-store.js';
import { BrokerCommand } from '../broker-command.js';
import { PLATFORMS, type Platform } from '../../pikpak/protocol.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { formatTime } from '../format.js';
import { BrokerClient } from '../broker-client.js';
import { promptPassword, readPasswordFromStdin } from '../read-password.js';

interface LoginOptions {
  account: string;
  username: string;
  passwordStdin?: boolean;
  platform: Platform;
  rememberPassword?: boolean;
  deviceId?: string;
  captchaToken?: string;
}

export function loginCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('login')
      .description('sign a PikPak account in (or in again) and keep its refresh token in the keychain')
      .requiredOption('--account <name>', "the broker's name for this account (letters, digits, . _ -)")
      .requiredOption('--username <username>', 'PikPak e-mail, phone number or user name')
      .option('--password-stdin', 'read the password from standard input (otherwise you are asked for it)')
      .addOption(
        new Option('--platform <platform>', 'which PikPak client to act as')
          .choices(PLATFORMS)
          .default('android'),
      )
      .option(
        '--remember-password',
        'keep the password in the keychain so the broker can sign in again by itself',
      )
      .option(
        '--device-id <id>',
        "device id to use with PikPak (default: AList's, md5 of username + password)",
      )
      .option(
        '--captcha-token <token>',
        'a captcha token from a solved PikPak challenge page (when asked for one)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  printf %s "$PASSWORD" | pikpak-token-broker login --account main --username me@example.com --password-stdin\n  pikpak-token-broker login --account main --username me@example.com --remember-password',
      ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<LoginOptions>(command);
    const o = ctx.options;
    const password = o.passwordStdin
      ? await readPasswordFromStdin()
      : await promptPassword(`PikPak password for ${o.username}: `);
    const daemon = await BrokerClient.connect(ctx.config);
    if (daemon) {
      // The running broker signs in: it is the only process that may hold the refresh token.
      const answer = await daemon.call<{
        account: string;
        expires_at: string;
        device_id: string;
        refresh_token_saved?: boolean;
        password_saved?: boolean;
        secret_store?: string;
      }>('POST', '/v1/admin/login', {
        account: o.account,
        username: o.username,
        password: password.reveal(),
        platform: o.platform,
        remember_password: o.rememberPassword ?? false,
        ...(o.deviceId ? { device_id: o.deviceId } : {}),
        ...(o.captchaToken ? { captcha_token: o.captchaToken } : {}),
      });
      process.stdout.write(
        [
          `Signed in: account "${answer.account}" (${o.username}, ${o.platform}), through the running broker.`,
          `Access token valid until ${formatTime(Date.parse(answer.expires_at))}; device id ${answer.device_id}.`,
          answer.refresh_token_saved === false
            ? 'WARNING: the OS keychain refused the new refresh token. The running broker keeps it in memory only and saves it when the keychain is back (see: pikpak-token-broker status); if the broker stops before that, you will have to sign in again.'
            : `The refresh token is stored in ${answer.secret_store ?? 'the keychain'}; only the broker will ever use it.`,
          !o.rememberPassword
            ? 'The password was not stored (add --remember-password to allow automatic re-login).'
            : answer.password_saved === false
              ? "WARNING: the password is kept in the running broker's memory only (the keychain refused it); automatic re-login works until the broker stops."
              : 'The password is stored there too, for automatic re-login.',
          '',
        ].join('\n'),
      );
      return;
    }
    const { withLocalBroker } = await import('../local-broker.js'); // the whole broker, only without a daemon
    await withLocalBroker(ctx, 'login', async (broker) => {
      // Without a daemon the token lives only as long as this command: it must reach the keychain.
      if (!(await broker.vault.probeWritable()))
        throw new CliError(
          `The OS keychain is unavailable (${broker.vault.status.problem ?? 'no answer'}), so a new refresh token could not be kept after this command ends. Nothing was changed. Unlock or start the keychain, or sign in through a running broker.${
            (ctx.config.secretStore ?? 'keychain') === 'keychain' ? `\n${KEYCHAIN_ALTERNATIVE}.` : ''
          }`,
          EXIT.keychainUnavailable,
        );
      const view = await broker.login({
        account: o.account,
        username: o.username,
        password,
        platform: o.platform,
        rememberPassword: o.rememberPassword ?? false,
        deviceId: o.deviceId,
        captchaToken: o.captchaToken,
      });
      const saved = !broker.vault.hasPending(o.account, 'refresh-token');
      process.stdout.write(
        [
          `Signed in: account "${o.account}" (${o.username}, ${o.platform}).`,
          `Access token valid until ${formatTime(view.expiresAt)}; device id ${view.deviceId}.`,
          saved
            ? `The refresh token is stored in ${broker.vault.description}; only the broker will ever use it.`
            : 'WARNING: the refresh token could not be written to the keychain.',
          o.rememberPassword
            ? 'The password is stored there too, for automatic re-login.'
            : 'The password was not stored (add --remember-password to allow automatic re-login).',
          '',
        ].join('\n'),
      );
      if (!saved) throw new CliError('The keychain refused the new refresh token.', EXIT.keychainUnavailable);
    });
  });
}
