/**
 * The core's ports: everything with I/O or time comes in through these, so the keeper and the
 * services run the same in Electron's main process, in plain Node and under fake timers.
 * Real implementations live in main/storage/ (keychain, settings file, lock) and
 * main/pikpak/ (HTTP); tests pass fakes.
 */
import type { Secret } from './secret.js';
import type { Platform } from '../pikpak/protocol.js';

/** Wall clock and timers. `setTimer` must not keep the process alive (unref). */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
export interface TimerHandle {
  readonly id: unknown;
}

/** Uniform [0, 1), for jitter. */
export type Random = () => number;

/**
 * What the keychain stores: per account a refresh token and (optionally) a password; and the AList
 * bridge's local CA private key (`bridge-ca-key`, under an account name no real account can have).
 * Nothing else secret is stored anywhere.
 */
export type SecretKind = 'refresh-token' | 'password' | 'bridge-ca-key';

/**
 * Where secrets are kept: the OS keychain (KeyringSecretStore, which throws
 * `KeychainUnavailableError` when it is missing, locked or refuses, and never falls back to a
 * file) or, only when chosen with `--secret-store file`, the age-encrypted `secrets.age`
 * (AgeFileSecretStore).
 */
export interface SecretStore {
  /** A human-readable description of where secrets go, e.g. "Secret Service (gnome-keyring)". */
  readonly description: string;
  get(account: string, kind: SecretKind): Promise<Secret | undefined>;
  set(account: string, kind: SecretKind, value: Secret): Promise<void>;
  delete(account: string, kind: SecretKind): Promise<void>;
}

/**
 * What the broker knows about the refresh call a RefreshIntent names, written as it learns it:
 * - `in-flight`: written before the call goes out (write-ahead) and left there while no answer is
 *   recorded. Found after a restart, the run died mid-call: PikPak may have rotated the token.
 * - `not-sent`: the call never reached PikPak (connection refused, name not resolved, TLS handshake
 *   failed). The token is provably unspent.
 * - `answered-transient`: PikPak answered with an error that is not invalid_grant (5xx, 429, rate
 *   limiting, another error body). PikPak rotates only on success, so the token is unspent.
 * - `outcome-unknown`: the request left but no answer came back (timeout, connection reset or
 *   dropped mid-answer, an unreadable 2xx). PikPak may or may not have rotated; the run retries
 *   with the same token, and so does a restart.
 * - `rotated-unsaved`: PikPak rotated the token, but the keychain refused the new one, which lives
 *   in memory only. The token named (the one the keychain holds) is spent.
 */
export type RefreshIntentState =
  'in-flight' | 'not-sent' | 'answered-transient' | 'outcome-unknown' | 'rotated-unsaved';

/**
 * Recorded (in settings) before a refresh call goes upstream, updated with what the call's outcome
 * says about the token, and cleared once the rotated token is in the keychain. Found on start-up
 * naming the token the keychain holds, its state decides whether that token may be sent (see
 * RefreshIntentState and main/core/refresh-intent.ts).
 */
export interface RefreshIntent {
  /** Fingerprint of the refresh token we were about to spend (see Secret.fingerprint). */
  tokenFingerprint: string;
  startedAt: number;
  /** Files written before this field existed hold `in-flight` intents (the schema's default). */
  state: RefreshIntentState;
}

/** Non-secret facts about one account, kept in the settings file. */
export interface AccountRecord {
  /** The broker's name for the account (what users type after --account). */
  name: string;
  username: string;
  platform: Platform;
  deviceId: string;
  userId?: string | undefined;
  /** Whether the password is in the keychain for automatic re-login. */
  rememberPassword: boolean;
  createdAt: number;
  /** Last time a refresh or sign-in succeeded. */
  lastRefreshAt?: number | undefined;
  refreshIntent?: RefreshIntent | undefined;
  /**
   * Set when PikPak rejected the stored refresh token, so that a restart does not spend a call
   * on a token already known to be dead (and never loops on it). Cleared by a successful sign-in.
   */
  reauth?: ReauthRecord | undefined;
}

export interface ReauthRecord {
  reason:
    'invalid-grant' | 'rotated-during-crash' | 'unsaved-when-stopped' | 'no-refresh-token' | 'sign-in-failed';
  since: number;
  message: string;
  /** Fingerprint of the refresh token PikPak rejected. */
  deadTokenFingerprint?: string | undefined;
}

export interface BrokerSettings {
  version: 1;
  accounts: AccountRecord[];
}

/** The settings file. `load` throws `SettingsCorruptError` rather than returning defaults for a bad file. */
export interface SettingsStore {
  readonly path: string;
  load(): Promise<BrokerSettings>;
  save(settings: BrokerSettings): Promise<void>;
}

/** What PikPak hands out on sign-in and refresh (the provider's TokenSet has this shape). */
export interface TokenGrant {
  accessToken: Secret;
  refreshToken: Secret;
  tokenType: string;
  /** Seconds; the only clock for an access token, which is opaque. */
  expiresInSec: number;
  userId: string;
}

export interface SignInInput {
  platform: Platform;
  username: string;
  password: Secret;
  deviceId: string;
  /** A captcha token a human obtained by solving PikPak's challenge page. */
  captchaToken?: string | undefined;
}

/**
 * PikPak's auth calls, as the keeper needs them. Throws the typed errors of main/pikpak/errors
 * (InvalidGrantError, TransientError, RateLimitedError, CaptchaRequiredError, ...).
 */
export interface AuthProvider {
  refresh(input: { platform: Platform; refreshToken: Secret }): Promise<TokenGrant>;
  signIn(input: SignInInput): Promise<TokenGrant>;
}

/** Structured logging (pino's shape). Secrets are Secret instances and redact themselves. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The real clock: timers are unref'd so they never keep a CLI or test process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { id: t };
  },
  clearTimer(handle) {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
};
