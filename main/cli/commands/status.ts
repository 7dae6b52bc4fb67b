import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { FILE_STORE_DESCRIPTION_PREFIX } from '../../storage/secrets-file-names.js';
import { KEYCHAIN_ALTERNATIVE } from '../../runtime/open-secret-store.js';
import { readLockHolder } from '../../storage/instance-lock.js';
import type { OfflineStatus } from '../../runtime/offline-status.js';
import { describeIntentState } from '../../core/refresh-intent.js';
import { BrokerClient } from '../broker-client.js';
import { addCommonOptions } from '../common-options.js';
import { contextOf } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTime, table } from '../format.js';

/** `GET /v1/status` as the service answers it. */
export interface LiveStatus {
  health: string;
  keychain: { available: boolean; problem: string | null; pending_writes: number; description: string };
  accounts: {
    name: string;
    username: string;
    platform: string;
    health: string;
    state: string;
    description: string;
    expires_at: string | null;
    device_id: string;
  }[];
}

export function statusCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('status')
      .description(
        'show the broker, the keychain and every account (exit code 3 when an account needs a new sign-in)',
      )
      .option('--json', 'machine-readable output'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ json?: boolean }>(command);
    const daemon = await BrokerClient.connect(ctx.config);
    if (daemon) {
      const live = await daemon.call<LiveStatus>('GET', '/v1/status');
      const holder = await readLockHolder(ctx.config.dataDir);
      const out = { broker: { running: true, socket: ctx.config.socketPath, ...holder }, ...live };
      process.stdout.write(ctx.options.json ? `${JSON.stringify(out, null, 2)}\n` : renderLive(out));
      if (live.accounts.some((a) => a.state === 'reauth-required' || a.state === 'signed-out'))
        process.exitCode = EXIT.reauthRequired;
      return;
    }
    // Only without a running broker: the settings file (valibot) and the keychain are read directly.
    const { readOfflineStatus } = await import('../../runtime/offline-status.js');
    const status = await readOfflineStatus(ctx.config);
    process.stdout.write(ctx.options.json ? `${JSON.stringify(status, null, 2)}\n` : renderOffline(status));
    if (status.accounts.some((a) => a.reauth || a.refreshTokenStored === false))
      process.exitCode = EXIT.reauthRequired;
  });
}

function renderLive(
  status: LiveStatus & { broker: { socket: string; pid?: number; startedAt?: number } },
): string {
  const lines = [
    `Broker:   running${status.broker.pid ? ` (pid ${status.broker.pid}, since ${formatTime(status.broker.startedAt)})` : ''}; socket ${status.broker.socket}`,
    `${storeLabel(status.keychain.description)} ${status.keychain.description} — ${
      status.keychain.available ? 'available' : `UNAVAILABLE: ${status.keychain.problem ?? ''}`
    }${status.keychain.pending_writes ? ` (${status.keychain.pending_writes} secret(s) waiting to be saved)` : ''}`,
    `Health:   ${status.health}`,
  ];
  if (!status.keychain.available && storeLabel(status.keychain.description) === 'Keychain:')
    lines.splice(2, 0, `          ${KEYCHAIN_ALTERNATIVE}.`);
  if (status.accounts.length === 0) {
    lines.push('', 'No account yet. Add one with: pikpak-token-broker login --account NAME --username USER');
    return `${lines.join('\n')}\n`;
  }
  const rows = [['ACCOUNT', 'USER', 'PLATFORM', 'HEALTH', 'STATE']];
  for (const a of status.accounts) rows.push([a.name, a.username, a.platform, a.health, a.description]);
  lines.push('', table(rows));
  return `${lines.join('\n')}\n`;
}

function renderOffline(status: OfflineStatus): string {
  const lines: string[] = [];
  lines.push(
    status.broker.running
      ? `Broker:   running (pid ${status.broker.pid} on ${status.broker.hostname}, ${status.broker.command}, since ${formatTime(status.broker.startedAt)}) but its socket does not answer`
      : 'Broker:   not running — tokens are not being refreshed (start it with: pikpak-token-broker daemon)',
  );
  lines.push(
    `${storeLabel(status.keychain.description)} ${status.keychain.description} — ${
      status.keychain.available ? 'available' : `UNAVAILABLE: ${status.keychain.problem ?? ''}`
    }`,
  );
  if (!status.keychain.available && storeLabel(status.keychain.description) === 'Keychain:')
    lines.push(`          ${KEYCHAIN_ALTERNATIVE}.`);
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
              a.refreshIntentState ? `; ${describeIntentState(a.refreshIntentState)}` : ''
            }`;
    rows.push([a.name, a.username, a.platform, state]);
  }
  lines.push('', table(rows));
  return `${lines.join('\n')}\n`;
}

/** The file store is not a keychain: say "Secrets:" for it (descriptions come from SecretStore). */
function storeLabel(description: string): string {
  return description.startsWith(FILE_STORE_DESCRIPTION_PREFIX) ? 'Secrets: ' : 'Keychain:';
}
