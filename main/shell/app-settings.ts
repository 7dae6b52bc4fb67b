/**
 * The app's own settings — nothing secret, nothing the core needs: start at login, notifications,
 * the AList bridge's port, per-account display options. Kept by electron-store (app.ts hands in
 * its constructor; tests hand in electron-store's base class `conf`, which needs no Electron) with
 * a JSON schema and migrations, in `app-settings.json` in the app's data folder (0600).
 *
 * The shell depends on `AppSettingsStore`, not on electron-store. A file that fails the schema is
 * never silently reset: it is kept as `app-settings.json.corrupt-<time>` and defaults are used.
 *
 * (The core's own records — accounts, device ids — stay in the broker's settings.json.)
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/ports.js';

export interface AccountUiOptions {
  /** Desktop notifications for this account. */
  readonly notify: boolean;
}

export interface AppSettings {
  readonly startAtLogin: boolean;
  readonly notifications: boolean;
  readonly bridgeEnabled: boolean;
  readonly bridgePort: number;
  readonly accounts: Readonly<Record<string, AccountUiOptions>>;
}

export const APP_SETTINGS_NAME = 'app-settings';
/** The port of the bridge's default address (DEFAULT_BRIDGE_ADDRESS in main/bridge). */
export const DEFAULT_BRIDGE_PORT = 5288;

export const APP_SETTINGS_DEFAULTS: AppSettings = {
  startAtLogin: false,
  notifications: true,
  bridgeEnabled: true,
  bridgePort: DEFAULT_BRIDGE_PORT,
  accounts: {},
};

const ACCOUNT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** Per key, as electron-store (conf) wants it: a JSON schema each. */
export const APP_SETTINGS_SCHEMA = {
  startAtLogin: { type: 'boolean', default: false },
  notifications: { type: 'boolean', default: true },
  bridgeEnabled: { type: 'boolean', default: true },
  bridgePort: { type: 'integer', minimum: 1024, maximum: 65535, default: DEFAULT_BRIDGE_PORT },
  accounts: {
    type: 'object',
    default: {},
    propertyNames: { pattern: ACCOUNT_NAME_PATTERN },
    additionalProperties: {
      type: 'object',
      properties: { notify: { type: 'boolean' } },
      required: ['notify'],
      additionalProperties: false,
    },
  },
} as const;

/** The store as the migrations see it (electron-store's `Conf`). */
export interface MigrationStore {
  readonly store: Record<string, unknown>;
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  has(key: string): boolean;
}

/**
 * Run by electron-store when the app's version first reaches the key (semver). Each one turns the
 * previous layout into the next; validation against the schema follows.
 */
export const APP_SETTINGS_MIGRATIONS: Record<string, (store: MigrationStore) => void> = {
  /**
   * 0.1.0, the first layout: keeps only the keys it knows and per-account entries under names the
   * broker can have, so that a file edited by hand still passes the schema. Later layouts add
   * their own entry here, keyed by the version that introduces them.
   */
  '0.1.0': (store) => {
    for (const key of Object.keys(store.store))
      if (!(key in APP_SETTINGS_SCHEMA) && !key.startsWith('__')) store.delete(key);
    const accounts = store.get('accounts');
    if (accounts === undefined) return;
    const pattern = new RegExp(ACCOUNT_NAME_PATTERN);
    const kept =
      accounts !== null && typeof accounts === 'object'
        ? Object.fromEntries(
            Object.entries(accounts as Record<string, unknown>)
              .filter(([name, value]) => pattern.test(name) && value !== null && typeof value === 'object')
              .map(([name, value]) => [name, { notify: (value as { notify?: unknown }).notify !== false }]),
          )
        : {};
    store.set('accounts', kept);
  },
};

/** The options the store constructor gets (a subset of electron-store's and conf's). */
export interface AppStoreOptions {
  readonly name: string;
  readonly cwd: string;
  readonly schema: typeof APP_SETTINGS_SCHEMA;
  readonly migrations: typeof APP_SETTINGS_MIGRATIONS;
  readonly clearInvalidConfig: false;
  readonly configFileMode: number;
  readonly projectVersion?: string;
}

export interface KeyValueStore {
  readonly store: Record<string, unknown>;
  readonly path: string;
  set(key: string, value: unknown): void;
}

export type AppStoreConstructor = new (options: AppStoreOptions) => KeyValueStore;

/** What the shell uses. */
export interface AppSettingsStore {
  readonly path: string;
  get(): AppSettings;
  set<K extends Exclude<keyof AppSettings, 'accounts'>>(key: K, value: AppSettings[K]): void;
  account(name: string): AccountUiOptions;
  setAccount(name: string, options: AccountUiOptions): void;
  onChange(listener: (settings: AppSettings) => void): () => void;
}

export interface OpenAppSettingsOptions {
  readonly Store: AppStoreConstructor;
  /** The folder of the file (Electron: app.getPath('userData')). */
  readonly cwd: string;
  readonly log: Logger;
  /** For the migrations; electron-store takes the app's version itself. */
  readonly projectVersion?: string;
  readonly now?: () => number;
}

export function openAppSettings(options: OpenAppSettingsOptions): AppSettingsStore {
  const storeOptions: AppStoreOptions = {
    name: APP_SETTINGS_NAME,
    cwd: options.cwd,
    schema: APP_SETTINGS_SCHEMA,
    migrations: APP_SETTINGS_MIGRATIONS,
    clearInvalidConfig: false,
    configFileMode: 0o600,
    ...(options.projectVersion ? { projectVersion: options.projectVersion } : {}),
  };
  let store: KeyValueStore;
  try {
    store = new options.Store(storeOptions);
  } catch (error) {
    const path = join(options.cwd, `${APP_SETTINGS_NAME}.json`);
    if (!existsSync(path)) throw error;
    const kept = `${path}.corrupt-${new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, kept);
    options.log.warn(
      { path, kept, error: (error as Error).message },
      'the app settings file was not valid; it was kept aside and defaults are used',
    );
    store = new options.Store(storeOptions);
  }
  return new StoreBackedSettings(store);
}

class StoreBackedSettings implements AppSettingsStore {
  readonly #store: KeyValueStore;
  readonly #listeners = new Set<(settings: AppSettings) => void>();

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  get path(): string {
    return this.#store.path;
  }

  get(): AppSettings {
    const raw = this.#store.store;
    return {
      startAtLogin: (raw.startAtLogin as boolean | undefined) ?? APP_SETTINGS_DEFAULTS.startAtLogin,
      notifications: (raw.notifications as boolean | undefined) ?? APP_SETTINGS_DEFAULTS.notifications,
      bridgeEnabled: (raw.bridgeEnabled as boolean | undefined) ?? APP_SETTINGS_DEFAULTS.bridgeEnabled,
      bridgePort: (raw.bridgePort as number | undefined) ?? APP_SETTINGS_DEFAULTS.bridgePort,
      accounts: (raw.accounts as Record<string, AccountUiOptions> | undefined) ?? {},
    };
  }

  set<K extends Exclude<keyof AppSettings, 'accounts'>>(key: K, value: AppSettings[K]): void {
    if (this.get()[key] === value) return;
    this.#store.set(key, value);
    this.#changed();
  }

  account(name: string): AccountUiOptions {
    return this.get().accounts[name] ?? { notify: true };
  }

  setAccount(name: string, options: AccountUiOptions): void {
    this.#store.set('accounts', { ...this.get().accounts, [name]: { notify: options.notify } });
    this.#changed();
  }

  onChange(listener: (settings: AppSettings) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    const settings = this.get();
    for (const listener of this.#listeners) listener(settings);
  }
}

/** Settings in memory, for tests of code that only needs the interface. */
export class MemoryAppSettings implements AppSettingsStore {
  readonly path = '(memory)';
  #settings: AppSettings;
  readonly #listeners = new Set<(settings: AppSettings) => void>();

  constructor(initial: Partial<AppSettings> = {}) {
    this.#settings = { ...APP_SETTINGS_DEFAULTS, ...initial };
  }

  get(): AppSettings {
    return this.#settings;
  }

  set<K extends Exclude<keyof AppSettings, 'accounts'>>(key: K, value: AppSettings[K]): void {
    if (this.#settings[key] === value) return;
    this.#settings = { ...this.#settings, [key]: value };
    for (const listener of this.#listeners) listener(this.#settings);
  }

  account(name: string): AccountUiOptions {
    return this.#settings.accounts[name] ?? { notify: true };
  }

  setAccount(name: string, options: AccountUiOptions): void {
    this.#settings = { ...this.#settings, accounts: { ...this.#settings.accounts, [name]: options } };
    for (const listener of this.#listeners) listener(this.#settings);
  }

  onChange(listener: (settings: AppSettings) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
