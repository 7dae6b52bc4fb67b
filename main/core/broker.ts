/**
 * The broker: every account's keeper, the vault and the settings file, behind one object that
 * the daemon, the Electron shell, the token service and the CLI (without a daemon) all use.
 * Plain Node: everything with I/O comes in through ports.
 */
import { EventEmitter } from 'node:events';
import { defaultDeviceId, type Platform } from '../pikpak/protocol.js';
import { AccountConflictError, AccountNotFoundError, InvalidAccountNameError } from './broker-errors.js';
import {
  DEFAULT_KEEPER_OPTIONS,
  Keeper,
  type AccessTokenView,
  type KeeperOptions,
  type RotationEvent,
} from './keeper.js';
import { UpstreamUnavailableError } from './keeper-errors.js';
import { describeState, healthOf, worstHealth, type Health, type KeeperState } from './keeper-state.js';
import type {
  AccountRecord,
  AuthProvider,
  BrokerSettings,
  Clock,
  Logger,
  Random,
  SecretStore,
  SettingsStore,
} from './ports.js';
import type { Secret } from './secret.js';
import { Vault, type VaultStatus } from './vault.js';

export interface BrokerDeps {
  readonly settings: SettingsStore;
  readonly secrets: SecretStore;
  readonly auth: AuthProvider;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly keeperOptions?: Partial<KeeperOptions>;
}

export interface LoginRequest {
  readonly account: string;
  readonly username: string;
  readonly password: Secret;
  readonly platform: Platform;
  readonly rememberPassword: boolean;
  /** Defaults to AList's own default, md5(username + password), so both share one device. */
  readonly deviceId?: string | undefined;
  readonly captchaToken?: string | undefined;
}

export interface AccountSummary {
  readonly name: string;
  readonly username: string;
  readonly platform: Platform;
  readonly deviceId: string;
  readonly userId: string | undefined;
  readonly rememberPassword: boolean;
  readonly state: KeeperState;
  readonly health: Health;
  /** The state in words. */
  readonly description: string;
  readonly accessExpiresAt: number | undefined;
  readonly lastRefreshAt: number | undefined;
}

export interface BrokerStatus {
  readonly health: Health;
  readonly keychain: VaultStatus & { readonly description: string };
  readonly accounts: readonly AccountSummary[];
}

export interface AccountStateEvent {
  readonly account: string;
  readonly state: KeeperState;
  readonly previous: KeeperState;
  readonly health: Health;
}

export interface BrokerEvents {
  'account-state': [AccountStateEvent];
  rotated: [RotationEvent];
  'keychain-status': [VaultStatus];
  'accounts-changed': [];
}

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Read (never written) to learn whether the keychain answers; no account can have this name. */
const KEYCHAIN_PROBE_ACCOUNT = '.pikpak-token-broker-probe';

/** How long a status asked right after start-up waits for the keychain's first answer. */
const FIRST_KEYCHAIN_ANSWER_WAIT_MS = 2500;

export class Broker extends EventEmitter<BrokerEvents> {
  readonly vault: Vault;
  readonly #deps: BrokerDeps;
  #settings: BrokerSettings;
  readonly #keepers = new Map<string, Keeper>();
  /** Records of accounts whose first sign-in is in progress: not saved until it succeeds. */
  readonly #pending = new Map<string, AccountRecord>();
  #saving: Promise<void> = Promise.resolve();
  /** Keepers still loading their token and making their first refresh; token calls wait for them. */
  readonly #starting = new Map<string, Promise<void>>();
  /** Set by holdUntilStarted(): token calls arriving before start() wait for it too. */
  #beforeStart: Promise<void> | undefined;
  /** Lets them go; undefined once it has. */
  #openBeforeStart: (() => void) | undefined;

  private constructor(deps: BrokerDeps, settings: BrokerSettings) {
    super();
    this.#deps = deps;
    this.#settings = settings;
    this.vault = new Vault(deps.secrets, deps.log);
    this.vault.on('status', (status) => this.emit('keychain-status', status));
    for (const record of settings.accounts) this.#addKeeper(record.name);
  }

  /** Loads the settings file (a corrupt one throws SettingsCorruptError; nothing is reset). */
  static async open(deps: BrokerDeps): Promise<Broker> {
    return new Broker(deps, await deps.settings.load());
  }

  /** Starts every keeper: loads tokens from the keychain and gets first access tokens. */
  /**
   * The daemon opens its socket before start(): token calls from now on wait for start() (and
   * each account's first refresh), bounded like every wait; stop() lets them go.
   */
  holdUntilStarted(): void {
    this.#beforeStart ??= new Promise<void>((resolve) => (this.#openBeforeStart = resolve));
  }

  #letWaitersIn(): void {
    this.#openBeforeStart?.();
    this.#openBeforeStart = undefined;
  }

  async start(): Promise<void> {
    // Keepers read the keychain as they start. With no account nothing would, and the status
    // would call a keychain that was never asked "available": a read (no write, so no unlock
    // prompt) tells a missing session bus or Secret Service at once.
    if (this.#keepers.size === 0) await this.vault.get(KEYCHAIN_PROBE_ACCOUNT, 'refresh-token');
    const started = Promise.all(
      [...this.#keepers].map(([name, keeper]) => {
        const started = keeper.start().finally(() => this.#starting.delete(name));
        this.#starting.set(
          name,
          started.catch(() => undefined),
        );
        return started;
      }),
    );
    // Every keeper's start is registered (synchronously, above): waiters move on to it.
    this.#letWaitersIn();
    await started;
  }

  async stop(): Promise<void> {
    this.#letWaitersIn();
    await Promise.all([...this.#keepers.values()].map((k) => k.stop()));
    await this.#saving;
  }

  accountNames(): string[] {
    return this.#settings.accounts.map((a) => a.name);
  }

  keeper(name: string): Keeper {
    const keeper = this.#keepers.get(name);
    if (!keeper || !this.#record(name)) throw new AccountNotFoundError(name, this.accountNames());
    return keeper;
  }

  /**
   * The account's access token. While the account is still starting (the socket opens before the
   * first refresh), waits for that start up to the keeper's usual wait bound (retryWaitMs).
   */
  async getAccessToken(account: string): Promise<AccessTokenView> {
    const keeper = this.keeper(account);
    await this.#whenStarted(account);
    return keeper.getAccessToken();
  }

  /** A consumer says PikPak rejected `accessToken` (see Keeper.reportRejected); waits for start-up too. */
  async reportRejected(account: string, accessToken: Secret | string): Promise<AccessTokenView> {
    const keeper = this.keeper(account);
    await this.#whenStarted(account);
    return keeper.reportRejected(accessToken);
  }

  async #whenStarted(account: string): Promise<void> {
    const waiting = this.#openBeforeStart !== undefined;
    if (!waiting && !this.#starting.has(account)) return;
    const { clock } = this.#deps;
    const waitMs = this.#deps.keeperOptions?.retryWaitMs ?? DEFAULT_KEEPER_OPTIONS.retryWaitMs;
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = clock.setTimer(() => resolve(true), waitMs)));
    const started = (async () => {
      if (waiting) await this.#beforeStart;
      await this.#starting.get(account);
      return false as const;
    })();
    const late = await Promise.race([started, timedOut]);
    clock.clearTimer(timer!);
    if (late)
      throw new UpstreamUnavailableError(
        `account "${account}" is still starting: its first refresh has not finished after ${Math.round(waitMs / 1000)}s; try again shortly`,
        clock.now() + 5_000,
      );
  }

  account(name: string): AccountSummary {
    const record = this.#record(name);
    if (!record) throw new AccountNotFoundError(name, this.accountNames());
    return this.#summary(record);
  }

  accounts(): AccountSummary[] {
    return this.#settings.accounts.map((r) => this.#summary(r));
  }

  /**
   * The status once the keychain has answered at start-up (the socket opens before the keepers'
   * first reads, and "available" before anyone asked would be a guess), waiting at most
   * `FIRST_KEYCHAIN_ANSWER_WAIT_MS` (the keychain host takes a moment to start); after that, what
   * is known: a keychain that hangs at start-up still reads "available" until it fails.
   */
  async checkedStatus(): Promise<BrokerStatus> {
    const { clock } = this.#deps;
    const waitMs = FIRST_KEYCHAIN_ANSWER_WAIT_MS;
    let timer: ReturnType<Clock['setTimer']> | undefined;
    await Promise.race([
      this.vault.firstAnswer,
      new Promise<void>((resolve) => (timer = clock.setTimer(resolve, waitMs))),
    ]);
    clock.clearTimer(timer!);
    return this.status();
  }

  status(): BrokerStatus {
    const accounts = this.accounts();
    return {
      health: worstHealth(accounts.map((a) => a.health)),
      keychain: { ...this.vault.status, description: this.vault.description },
      accounts,
    };
  }

  /**
   * Signs an account in (new, or again after reauth-required). The record is saved only once
   * PikPak accepted the credentials; a failed first login leaves no trace.
   */
  async login(request: LoginRequest): Promise<AccessTokenView> {
    if (!ACCOUNT_NAME.test(request.account)) throw new InvalidAccountNameError(request.account);
    const existing = this.#record(request.account);
    if (existing && existing.username !== request.username)
      throw new AccountConflictError(request.account, existing.username);
    const record: AccountRecord = existing
      ? { ...existing, platform: request.platform, rememberPassword: request.rememberPassword }
      : {
          name: request.account,
          username: request.username,
          platform: request.platform,
          deviceId: request.deviceId ?? defaultDeviceId(request.username, request.password.reveal()),
          rememberPassword: request.rememberPassword,
          createdAt: this.#deps.clock.now(),
        };
    if (existing && request.deviceId) record.deviceId = request.deviceId;
    if (!existing) this.#pending.set(record.name, record);
    const keeper = this.#keepers.get(record.name) ?? this.#addKeeper(record.name);
    try {
      const view = await keeper.signIn({
        username: record.username,
        password: request.password,
        platform: record.platform,
        deviceId: record.deviceId,
        rememberPassword: request.rememberPassword,
        captchaToken: request.captchaToken,
      });
      const saved = this.#pending.get(record.name) ?? this.#record(record.name) ?? record;
      this.#pending.delete(record.name);
      await this.#upsert({
        ...saved,
        platform: record.platform,
        rememberPassword: record.rememberPassword,
        deviceId: record.deviceId,
      });
      this.emit('accounts-changed');
      return view;
    } catch (error) {
      if (!existing) {
        this.#pending.delete(record.name);
        this.#removeKeeper(record.name);
      }
      throw error;
    }
  }

  /** Signs out and forgets the account: its keychain entries and its settings record. */
  async logout(name: string): Promise<void> {
    const keeper = this.keeper(name);
    await keeper.signOut();
    this.#removeKeeper(name);
    this.#settings = { ...this.#settings, accounts: this.#settings.accounts.filter((a) => a.name !== name) };
    await this.#save();
    this.emit('accounts-changed');
  }

  // ── records ──────────────────────────────────────────────────────────────────────────────

  #record(name: string): AccountRecord | undefined {
    return this.#settings.accounts.find((a) => a.name === name);
  }

  #summary(record: AccountRecord): AccountSummary {
    const keeper = this.#keepers.get(record.name);
    const now = this.#deps.clock.now();
    const state: KeeperState = keeper?.state ?? { type: 'signed-out' };
    return {
      name: record.name,
      username: record.username,
      platform: record.platform,
      deviceId: record.deviceId,
      userId: record.userId,
      rememberPassword: record.rememberPassword,
      state,
      health: healthOf(state, now),
      description: describeState(state, now),
      accessExpiresAt: keeper?.accessExpiresAt,
      lastRefreshAt: record.lastRefreshAt,
    };
  }

  async #upsert(record: AccountRecord): Promise<void> {
    const others = this.#settings.accounts.filter((a) => a.name !== record.name);
    const index = this.#settings.accounts.findIndex((a) => a.name === record.name);
    const accounts = [...others];
    accounts.splice(index === -1 ? accounts.length : index, 0, record);
    this.#settings = { ...this.#settings, accounts };
    await this.#save();
  }

  async #update(name: string, patch: Partial<AccountRecord>): Promise<void> {
    const pending = this.#pending.get(name);
    if (pending) {
      this.#pending.set(name, withoutUndefined({ ...pending, ...patch }));
      return;
    }
    const record = this.#record(name);
    if (!record) return;
    await this.#upsert(withoutUndefined({ ...record, ...patch }));
  }

  /** Saves are chained so two can never interleave; each writes the newest settings. */
  #save(): Promise<void> {
    const next = this.#saving.then(() => this.#deps.settings.save(this.#settings));
    this.#saving = next.catch(() => undefined);
    return next;
  }

  // ── keepers ──────────────────────────────────────────────────────────────────────────────

  #addKeeper(name: string): Keeper {
    const keeper = new Keeper({
      account: name,
      records: {
        get: (n) => this.#pending.get(n) ?? this.#record(n),
        update: (n, patch) => this.#update(n, patch),
      },
      vault: this.vault,
      auth: this.#deps.auth,
      clock: this.#deps.clock,
      random: this.#deps.random,
      log: this.#deps.log,
      options: this.#deps.keeperOptions,
    });
    keeper.on('state', (state, previous) =>
      this.emit('account-state', {
        account: name,
        state,
        previous,
        health: healthOf(state, this.#deps.clock.now()),
      }),
    );
    keeper.on('rotated', (event) => this.emit('rotated', event));
    this.#keepers.set(name, keeper);
    return keeper;
  }

  #removeKeeper(name: string): void {
    const keeper = this.#keepers.get(name);
    if (!keeper) return;
    keeper.removeAllListeners();
    void keeper.stop();
    this.#keepers.delete(name);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
