/**
 * The one place a SecretStore is made from the configuration: `--secret-store keychain` (the
 * default) or `--secret-store file` (secrets.age, opened with the identity). Never a fallback
 * from one to the other: a keychain that cannot be used is reported with the way to choose the
 * file store instead.
 *
 * One file store per secrets file per process: the daemon's broker and its bridge (or the app's)
 * share it, so their writes are serialized by one queue and never overwrite each other.
 */
import { join } from 'node:path';
import type { SecretStore } from '../core/ports.js';
import type { AgeFileSecretStore } from '../storage/age-file-secret-store.js';
import { SECRETS_FILE } from '../storage/secrets-file-names.js';
import { KeyringSecretStore } from '../storage/keyring-secret-store.js';
import { ensurePrivateDir } from '../storage/paths.js';
import type { RuntimeConfig } from './config.js';

/** Said wherever the keychain is reported unavailable (CLI errors, daemon logs, status). */
export const KEYCHAIN_ALTERNATIVE =
  'No keychain on this machine (a NAS, a server)? Keep the secrets in an age-encrypted file instead: ' +
  'pikpak-token-broker secret-store init --identity-file PATH, then run every command with ' +
  '--secret-store file --identity-file PATH (or PIKPAK_BROKER_SECRET_STORE=file, PIKPAK_BROKER_IDENTITY_FILE=PATH)';

const fileStores = new Map<string, Promise<AgeFileSecretStore>>();

export async function openSecretStore(
  config: RuntimeConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SecretStore> {
  if ((config.secretStore ?? 'keychain') === 'keychain')
    return new KeyringSecretStore({ service: config.keychainService });
  return openFileSecretStore(config, env);
}

export async function openFileSecretStore(
  config: RuntimeConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<AgeFileSecretStore> {
  // The age code (~15 MB, ~0.1 s) is loaded only for the file store: a keychain broker, and every
  // command that merely names this module, never pays for it.
  const [{ locateIdentity, loadIdentity }, { AgeFileSecretStore }] = await Promise.all([
    import('../storage/age-identity.js'),
    import('../storage/age-file-secret-store.js'),
  ]);
  const location = locateIdentity(config.identityFile, env);
  const key = `${join(config.dataDir, SECRETS_FILE)}\u0000${location?.path ?? ''}`;
  let opening = fileStores.get(key);
  if (!opening) {
    opening = (async () => {
      await ensurePrivateDir(config.dataDir);
      return AgeFileSecretStore.open({ dataDir: config.dataDir, identity: await loadIdentity(location) });
    })();
    fileStores.set(key, opening);
    // A failed open is not kept: fixing the identity and trying again must work.
    opening.catch(() => fileStores.delete(key));
  }
  return opening;
}
