/** Builds a Broker from real adapters: the secret store (keychain or secrets.age), settings file and the PikPak client. */
import { Broker } from '../core/broker.js';
import type { KeeperOptions } from '../core/keeper.js';
import {
  systemClock,
  type AuthProvider,
  type Clock,
  type Logger,
  type Random,
  type SecretStore,
  type SettingsStore,
} from '../core/ports.js';
import { FileSettingsStore } from '../storage/file-settings-store.js';
import { openSecretStore } from './open-secret-store.js';
import { assertStoreHoldsSecrets } from './secret-store-check.js';
import { ensurePrivateDir } from '../storage/paths.js';
import { toAuthProvider } from '../pikpak/auth-provider.js';
import { createPikPakClient } from './auth-provider.js';
import type { RuntimeConfig } from './config.js';

export interface OpenBrokerOverrides {
  clock?: Clock;
  random?: Random;
  secrets?: SecretStore;
  /** Tests wrap the real adapters (e.g. the crash-safety suite stops a run at a chosen step). */
  settings?: SettingsStore;
  auth?: AuthProvider;
  keeperOptions?: Partial<KeeperOptions>;
}

export async function openBroker(
  config: RuntimeConfig,
  log: Logger,
  overrides: OpenBrokerOverrides = {},
): Promise<Broker> {
  await ensurePrivateDir(config.dataDir);
  const settings = overrides.settings ?? new FileSettingsStore(config.dataDir);
  let secrets = overrides.secrets;
  if (!secrets) {
    secrets = await openSecretStore(config);
    await assertStoreHoldsSecrets(config, secrets, await settings.load());
  }
  return Broker.open({
    settings,
    secrets,
    auth: overrides.auth ?? toAuthProvider(createPikPakClient(config.upstream)),
    clock: overrides.clock ?? systemClock,
    random: overrides.random ?? Math.random,
    log,
    keeperOptions: overrides.keeperOptions,
  });
}
