/**
 * What can be said about the accounts without a running broker: read the settings file, ask the
 * keychain whether each account's secrets are there, and look at the lock. Spends no refresh.
 */
import type { ReauthRecord, RefreshIntentState } from '../core/ports.js';
import type { Platform } from '../pikpak/protocol.js';
import { FileSettingsStore } from '../storage/file-settings-store.js';
import { readLockHolder, type LockHolder } from '../storage/instance-lock.js';
import { openSecretStore } from './open-secret-store.js';
import type { RuntimeConfig } from './config.js';

export interface OfflineAccountStatus {
  readonly name: string;
  readonly username: string;
  readonly platform: Platform;
  readonly deviceId: string;
  readonly userId: string | undefined;
  /** undefined when the keychain could not be asked. */
  readonly refreshTokenStored: boolean | undefined;
  readonly passwordStored: boolean | undefined;
  readonly rememberPassword: boolean;
  readonly lastRefreshAt: number | undefined;
  readonly reauth: ReauthRecord | undefined;
  /** A refresh was under way when the last broker stopped. */
  readonly interruptedRefresh: boolean;
  /**
   * What the last run knew about that refresh's call, when its intent names the token the keychain
   * holds (one naming another token is settled: the keychain has the newer one).
   */
  readonly refreshIntentState: RefreshIntentState | undefined;
}

export interface OfflineStatus {
  readonly broker: { readonly running: false } | ({ readonly running: true } & LockHolder);
  readonly keychain: { readonly description: string; readonly available: boolean; readonly problem?: string };
  readonly settingsPath: string;
  readonly accounts: readonly OfflineAccountStatus[];
}

export async function readOfflineStatus(config: RuntimeConfig): Promise<OfflineStatus> {
  const settingsStore = new FileSettingsStore(config.dataDir);
  const settings = await settingsStore.load();
  const secrets = await openSecretStore(config);
  const holder = await readLockHolder(config.dataDir);
  let problem: string | undefined;
  /** Fingerprints of the stored refresh tokens, to tell whether an intent names the stored one. */
  const stored = new Map<string, string>();
  const has = async (account: string, kind: 'refresh-token' | 'password'): Promise<boolean | undefined> => {
    if (problem) return undefined;
    try {
      const secret = await secrets.get(account, kind);
      if (secret && kind === 'refresh-token') stored.set(account, secret.fingerprint());
      return secret !== undefined;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  };
  const accounts: OfflineAccountStatus[] = [];
  for (const r of settings.accounts) {
    accounts.push({
      name: r.name,
      username: r.username,
      platform: r.platform,
      deviceId: r.deviceId,
      userId: r.userId,
      refreshTokenStored: await has(r.name, 'refresh-token'),
      passwordStored: r.rememberPassword ? await has(r.name, 'password') : false,
      rememberPassword: r.rememberPassword,
      lastRefreshAt: r.lastRefreshAt,
      reauth: r.reauth,
      interruptedRefresh: r.refreshIntent !== undefined,
      refreshIntentState:
        r.refreshIntent &&
        (stored.get(r.name) ?? r.refreshIntent.tokenFingerprint) === r.refreshIntent.tokenFingerprint
          ? r.refreshIntent.state
          : undefined,
    });
  }
  if (accounts.length === 0) await has('__probe__', 'refresh-token');
  return {
    broker: holder ? { running: true, ...holder } : { running: false },
    keychain: {
      description: secrets.description,
      available: problem === undefined,
      ...(problem ? { problem } : {}),
    },
    settingsPath: settingsStore.path,
    accounts,
  };
}
