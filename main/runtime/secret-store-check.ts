/**
 * Before a broker starts on a secret store: is it the store that holds the accounts' secrets?
 * `--secret-store` is explicit (no default is guessed from what exists), so a wrong flag, or one
 * forgotten after `secret-store migrate`, must be refused rather than turn accounts whose tokens
 * sit safely in the other store into "re-login needed". Refused also while a migration is
 * unfinished. Nothing is written either way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SecretStoreMismatchError } from '../core/errors/index.js';
import type { BrokerSettings, SecretStore } from '../core/ports.js';
import { SECRETS_FILE } from '../storage/secrets-file-names.js';
import { KeyringSecretStore } from '../storage/keyring-secret-store.js';
import type { RuntimeConfig } from './config.js';
import { openFileSecretStore } from './open-secret-store.js';
import { readMigrationRecord } from './secret-migration.js';

export async function assertStoreHoldsSecrets(
  config: RuntimeConfig,
  store: SecretStore,
  settings: BrokerSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  const chosen = config.secretStore ?? 'keychain';
  const unfinished = await readMigrationRecord(config.dataDir);
  if (unfinished)
    throw new SecretStoreMismatchError(
      `A secret-store migration to the ${unfinished.to} store was interrupted; finish it first: ` +
        `pikpak-token-broker secret-store migrate --to ${unfinished.to} (it resumes where it stopped, nothing is lost)`,
    );
  // With the keychain and no secrets file there is no other place the secrets could be: ask the
  // keychain nothing more here (a locked one may prompt, and the broker asks it anyway).
  if (chosen === 'keychain' && !existsSync(join(config.dataDir, SECRETS_FILE))) return;
  // Only accounts expected to have a token: one already known to need a sign-in proves nothing.
  const expecting = settings.accounts.filter((a) => !a.reauth).map((a) => a.name);
  const missing: string[] = [];
  for (const account of expecting) {
    try {
      if (!(await store.get(account, 'refresh-token'))) missing.push(account);
    } catch {
      return; // the chosen store cannot be asked now: the broker reports that itself
    }
  }
  if (missing.length === 0) return;
  const other = chosen === 'keychain' ? 'file' : 'keychain';
  const inOther = await otherStoreHolds(config, other, missing, env);
  if (inOther === false) return;
  const flag = other === 'file' ? '--secret-store file --identity-file PATH' : '--secret-store keychain';
  throw new SecretStoreMismatchError(
    `The ${chosen === 'file' ? 'secrets file' : 'keychain'} holds no refresh token for ${missing.map((a) => `"${a}"`).join(', ')}, ` +
      `but ${inOther === true ? `the ${other} store does` : `${join(config.dataDir, SECRETS_FILE)} exists and may`}. ` +
      `Start with ${flag} (the store the secrets are in), or move them with: pikpak-token-broker secret-store migrate --to ${chosen}` +
      (inOther === 'maybe' ? `; if that file is stale, move it out of the data folder.` : '.'),
  );
}

/** true: it holds a token for one of them; false: it does not (or cannot be asked); 'maybe': a secrets file we cannot open. */
async function otherStoreHolds(
  config: RuntimeConfig,
  other: 'keychain' | 'file',
  accounts: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<boolean | 'maybe'> {
  let store: SecretStore;
  if (other === 'keychain') store = new KeyringSecretStore({ service: config.keychainService });
  else {
    if (!existsSync(join(config.dataDir, SECRETS_FILE))) return false;
    try {
      store = await openFileSecretStore({ ...config, secretStore: 'file' }, env);
    } catch {
      return 'maybe';
    }
  }
  try {
    for (const account of accounts) if (await store.get(account, 'refresh-token')) return true;
  } catch {
    return false; // e.g. no keychain on this machine: it cannot be holding them
  }
  return false;
}
