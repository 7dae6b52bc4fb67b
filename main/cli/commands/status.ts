import { Command } from 'commander';
import { readOfflineStatus, type OfflineStatus } from '../../runtime/offline-status.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTime, table } from '../format.js';

export function statusCommand(): Command {
  return addCommonOptions(
    new Command('status')
      .description(
        'show the broker, the keychain and every account (exit code 3 when an account needs a new sign-in)',
      )
      .option('--json', 'machine-readable output'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ json?: boolean }>(command);
    const status = await readOfflineStatus(ctx.config);
    process.stdout.write(ctx.options.json ? `${JSON.stringify(status, null, 2)}\n` : render(status));
    const needsLogin = status.accounts.some((a) => a.reauth || a.refreshTokenStored === false);
    if (needsLogin) process.exitCode = EXIT.reauthRequired;
  });
}

function render(status: OfflineStatus): string {
  const lines: string[] = [];
  lines.push(
    status.broker.running
      ? `Broker:   running (pid ${status.broker.pid} on ${status.broker.hostname}, ${status.broker.command}, since ${formatTime(status.broker.startedAt)})`
      : 'Broker:   not running — tokens are not being refreshed (start it with: pikpak-token-broker daemon)',
  );
  lines.push(
    `Keychain: ${status.keychain.description} — ${
      status.keychain.available ? 'available' : `UNAVAILABLE: ${status.keychain.problem ?? ''}`
    }`,
  );
  lines.push(`Settings: ${status.settingsPath}`);
  if (status.accounts.length === 0) {
    lines.push('', 'No account yet. Add one with: pikpak-token-broker login --account NAME --username USER');
    return `${lines.join('\n')}\n`;
  }
  const rows = [['ACCOUNT', 'USER', 'PLATFORM', 'STATE']];
  for (const a of status.accounts) {
    const state = a.reauth
      ? `re-login needed: ${a.reauth.message}`
      : a.refreshTokenStored === false
        ? 're-login needed: no refresh token in the keychain'
        : a.refreshTokenStored === undefined
          ? 'unknown (keychain unavailable)'
          : `refresh token stored; last refresh ${formatTime(a.lastRefreshAt)}${
              a.interruptedRefresh ? '; the last run stopped during a refresh' : ''
            }`;
    rows.push([a.name, a.username, a.platform, state]);
  }
  lines.push('', table(rows));
  return `${lines.join('\n')}\n`;
}
