/**
 * The token keeper: the one owner of one PikPak account's refresh token.
 *
 * Rules it enforces (DESIGN.md, "Accounts and the keeper"):
 * 1. single-flight — every trigger (timer, consumer demand, rejection report, retry) joins the
 *    one refresh in flight, so N callers cause one upstream call;
 * 2. never re-sent when it may be spent — a token PikPak rejected, or one named by an intent
 *    that says the previous run died mid-call (`in-flight`) or kept the newest token in memory
 *    only (`rotated-unsaved`), is never sent again (a sign-in replaces it). A restart does what
 *    the same run would have done: a token PikPak provably did not consume (`not-sent`,
 *    `answered-transient`) is used, and one whose answer the run saw get lost (`outcome-unknown`:
 *    timeout, dropped connection) is retried with the same token, as within a run — the only
 *    re-send; if PikPak did rotate, it answers invalid_grant and rule 4 applies. The table is in
 *    refresh-intent.ts;
 * 3. write-ahead — a refresh intent (`in-flight`) is recorded before the call, what a failed
 *    call proves about the token is recorded before the back-off starts, and the rotated refresh
 *    token is in the vault before the new access token is handed out;
 * 4. invalid_grant — re-read the vault once, then re-login with the stored password if allowed,
 *    else reauth-required (and the dead token is remembered so a restart never spends it again);
 * 5. proactive refresh before expiry with jitter; rejected-token reports refresh only when the
 *    rejected token is the current one;
 * 6. transient failures back off (capped, jittered) and never discard the refresh token.
 */
import { EventEmitter } from 'node:events';
import {
  CaptchaRequiredError,
  InvalidGrantError,
  PikPakError,
  RateLimitedError,
} from '../pikpak/errors/index.js';
import type { Platform } from '../pikpak/protocol.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import {
  ReauthRequiredError,
  SignedOutError,
  TokenNotAvailableError,
  UpstreamUnavailableError,
} from './keeper-errors.js';
import {
  describeState,
  healthOf,
  healthy,
  reauthRequired,
  refreshing,
  retrying,
  signedOut,
  signingIn,
  type ErrorSummary,
  type Health,
  type KeeperState,
  type ReauthReason,
} from './keeper-state.js';
import type {
  AccountRecord,
  AuthProvider,
  Clock,
  Logger,
  Random,
  RefreshIntentState,
  TimerHandle,
  TokenGrant,
} from './ports.js';
import { describeIntentState, intentStateAfter, spentAfterRestart } from './refresh-intent.js';
import type { Secret } from './secret.js';
import type { Vault } from './vault.js';

export interface KeeperOptions {
  /** Refresh this long before the access token expires… */
  readonly refreshMarginMs: number;
  /** …but never more than this fraction of its lifetime (short-lived tokens in tests). */
  readonly refreshMarginFraction: number;
  /** Proactive refreshes come up to this fraction of the lifetime earlier, at random. */
  readonly jitterFraction: number;
  /** A token handed out stays valid at least this long (capped at a quarter of its lifetime). */
  readonly minValidityMs: number;
  /** A report that the current token was rejected is ignored this soon after it was issued. */
  readonly rejectCooldownMs: number;
  readonly backoff: BackoffPolicy;
  /** How often a refresh token that only lives in memory is offered to the keychain again. */
  readonly keychainRetryMs: number;
  /**
   * A consumer asking while the keeper backs off, with no valid token, waits for the next attempt
   * if it is due within this long (and at most this long in all) instead of failing at once: an
   * AList storage whose first token call fails stays failed until someone reloads it.
   */
  readonly retryWaitMs: number;
  /**
   * Whether the keeper refreshes by itself before expiry. A one-shot command without a daemon
   * (login, logout) turns it off: it exits in a moment, and a refresh it started on its way out
   * would spend a token for nothing (the daemon that holds the token next refreshes it).
   */
  readonly backgroundRefresh: boolean;
}

export const DEFAULT_KEEPER_OPTIONS: KeeperOptions = {
  refreshMarginMs: 5 * 60_000,
  refreshMarginFraction: 0.25,
  jitterFraction: 0.05,
  minValidityMs: 60_000,
  rejectCooldownMs: 10_000,
  backoff: DEFAULT_BACKOFF,
  keychainRetryMs: 30_000,
  retryWaitMs: 15_000,
  backgroundRefresh: true,
};

/** The keeper's view of the settings file: one account's record. */
export interface AccountRecordStore {
  get(name: string): AccountRecord | undefined;
  update(name: string, patch: Partial<AccountRecord>): Promise<void>;
}

export interface KeeperDeps {
  readonly account: string;
  readonly records: AccountRecordStore;
  readonly vault: Vault;
  readonly auth: AuthProvider;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly options?: Partial<KeeperOptions>;
}

/** What a consumer gets. The access token is a Secret so it cannot be logged by accident. */
export interface AccessTokenView {
  readonly account: string;
  readonly accessToken: Secret;
  readonly tokenType: string;
  readonly expiresAt: number;
  readonly userId: string;
  readonly deviceId: string;
}

export interface RotationEvent {
  readonly account: string;
  readonly at: number;
  readonly accessExpiresAt: number;
  readonly via: 'refresh' | 'sign-in';
  readonly savedToKeychain: boolean;
}

export interface KeeperEvents {
  state: [next: KeeperState, previous: KeeperState];
  rotated: [RotationEvent];
}

export interface SignInRequest {
  readonly username: string;
  readonly password: Secret;
  readonly platform: Platform;
  readonly deviceId: string;
  readonly rememberPassword: boolean;
  readonly captchaToken?: string | undefined;
}

interface HeldAccess {
  readonly token: Secret;
  readonly tokenType: string;
  readonly obtainedAt: number;
  readonly expiresAt: number;
  readonly userId: string;
}

type Trigger = 'startup' | 'proactive' | 'demand' | 'rejected' | 'retry' | 'manual';

function summarize(error: unknown): ErrorSummary {
  if (error instanceof PikPakError || error instanceof TokenNotAvailableError)
    return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: 'unknown failure' };
}

export class Keeper extends EventEmitter<KeeperEvents> {
  readonly name: string;
  readonly #records: AccountRecordStore;
  readonly #vault: Vault;
  readonly #auth: AuthProvider;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #log: Logger;
  readonly #options: KeeperOptions;

  #state: KeeperState = signedOut();
  #refreshToken: Secret | undefined;
  #access: HeldAccess | undefined;
  /** The one refresh or sign-in in flight; everyone who needs a token joins it. */
  #inflight: Promise<AccessTokenView> | undefined;
  #attempt = 0;
  #refreshTimer: TimerHandle | undefined;
  #keychainTimer: TimerHandle | undefined;
  /** A retried keychain write of the refresh token in progress; a refresh waits for it. */
  #saving: Promise<boolean> | undefined;
  /**
   * Why the refresh token we hold must not be sent (again), if so: a run died while spending it,
   * or stopped with its successor in memory only (see RefreshIntent), or PikPak rejected it. Then
   * only a sign-in replaces it.
   */
  #unusable: 'crash' | 'unsaved' | 'rejected' | undefined;
  /** The held token's last call got no answer (timeout, reset): an invalid_grant then says why. */
  #answerLost = false;
  #stopped = false;
  /** Resolves when the attempt in flight (or the next one) settles; see #awaitNextAttempt. */
  #attemptSettled: Promise<void> | undefined;
  #settleAttempt: (() => void) | undefined;
  /** Upstream refresh calls made by this keeper (for status and tests). */
  refreshCount = 0;

  constructor(deps: KeeperDeps) {
    super();
    this.name = deps.account;
    this.#records = deps.records;
    this.#vault = deps.vault;
    this.#auth = deps.auth;
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#log = deps.log;
    this.#options = { ...DEFAULT_KEEPER_OPTIONS, ...deps.options };
  }

  get state(): KeeperState {
    return this.#state;
  }

  health(now = this.#clock.now()): Health {
    return healthOf(this.#state, now);
  }

  describe(now = this.#clock.now()): string {
    return describeState(this.#state, now);
  }

  /** Expiry of the access token held in memory, if any. */
  get accessExpiresAt(): number | undefined {
    return this.#access?.expiresAt;
  }

  /**
   * Loads the refresh token and gets a first access token. Resolves once that first attempt has
   * settled (into healthy, retrying or reauth-required); never rejects for upstream failures.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    const record = this.#record();
    const token = await this.#vault.get(this.name, 'refresh-token');
    if (!token) {
      if (!this.#vault.status.available) {
        // Not "signed out": the keychain may come back. Try again later.
        this.#attempt += 1;
        this.#enterRetrying(
          {
            code: 'keychain_unavailable',
            message: `keychain unavailable: ${this.#vault.status.problem ?? ''}`,
          },
          undefined,
          () => void this.start(),
        );
        return;
      }
      this.#enterReauth(
        'no-refresh-token',
        'The keychain holds no refresh token for this account. Sign in again.',
      );
      return;
    }
    this.#refreshToken = token;
    if (record.reauth?.deadTokenFingerprint === token.fingerprint()) {
      // PikPak already rejected exactly this token: do not spend a call (and never loop) on it.
      this.#setState(
        reauthRequired({
          reason: record.reauth.reason,
          since: record.reauth.since,
          message: record.reauth.message,
        }),
      );
      return;
    }
    const intent =
      record.refreshIntent?.tokenFingerprint === token.fingerprint() ? record.refreshIntent : undefined;
    this.#unusable = intent ? spentAfterRestart(intent.state) : undefined;
    this.#answerLost = intent?.state === 'outcome-unknown';
    if (intent) {
      const fields = { account: this.name, token: token.fingerprint(), intent: intent.state };
      if (this.#unusable === 'crash')
        this.#log.warn(
          fields,
          'the previous run stopped while refreshing this token; PikPak may already have rotated it, so it is not sent again',
        );
      else if (this.#unusable === 'unsaved')
        this.#log.warn(
          fields,
          'the previous run stopped while the newest refresh token was only in memory (the keychain was locked or unavailable); the one the keychain holds is spent, so it is not sent again',
        );
      else this.#log.info(fields, `resuming: ${describeIntentState(intent.state)}`);
    }
    await this.#refresh('startup').catch(() => undefined);
  }

  /** Stops timers and waits for an in-flight refresh to be persisted. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimer('refresh');
    this.#clearTimer('keychain');
    this.#releaseWaiters();
    await this.#inflight?.catch(() => undefined);
    if (!(await this.#saveUnsaved()))
      this.#log.error(
        { account: this.name, problem: this.#vault.status.problem },
        'the newest refresh token could not be saved to the keychain and is lost when this process ends (it is never written to a file); what the keychain holds for this account PikPak has already replaced, so it will not be used: the next start signs in again with the stored password if the keychain has it, or asks for a new sign-in',
      );
    await this.#vault.flush();
  }

  /**
   * A valid access token, refreshing first (single-flight) when the held one is missing or
   * about to expire. Rejects with a TokenNotAvailableError subclass when none can be had.
   */
  async getAccessToken(): Promise<AccessTokenView> {
    const state = this.#state;
    switch (state.type) {
      case 'signed-out':
        throw new SignedOutError(this.name);
      case 'reauth-required':
        throw new ReauthRequiredError(this.name, state.reason, state.message);
      case 'signing-in':
      case 'refreshing':
        if (this.#isFresh()) return this.#view();
        return this.#joinInflight();
      case 'retrying':
        if (this.#isFresh()) return this.#view();
        // The backoff timer owns the next attempt; a herd of consumers must not hammer PikPak.
        if (this.#access && this.#access.expiresAt > this.#clock.now()) return this.#view();
        if (state.nextAttemptAt - this.#clock.now() <= this.#options.retryWaitMs)
          return this.#awaitNextAttempt();
        throw new UpstreamUnavailableError(
          `PikPak cannot be reached for account "${this.name}" (${state.lastError.message}); next attempt in ${Math.ceil(
            Math.max(0, state.nextAttemptAt - this.#clock.now()) / 1000,
          )}s`,
          state.nextAttemptAt,
        );
      case 'healthy':
        if (this.#isFresh()) return this.#view();
        return this.#refresh('demand');
    }
  }

  /**
   * A consumer says PikPak rejected `accessToken`. Only the current token triggers a refresh (and
   * not within the cool-down after it was issued); an older token just gets the current one.
   * The current token reported while a refresh is in flight waits for that refresh: handing the
   * rejected token back (it is still "fresh" by the clock) would send the consumer straight back
   * to PikPak with it. If that refresh fails, the reporter gets what its trigger gets.
   */
  async reportRejected(accessToken: Secret | string): Promise<AccessTokenView> {
    const access = this.#access;
    const isCurrent = access !== undefined && access.token.equals(accessToken);
    if (isCurrent && this.#inflight && this.#state.type === 'refreshing') return this.#inflight;
    if (!isCurrent || this.#state.type !== 'healthy') return this.getAccessToken();
    if (this.#clock.now() - access.obtainedAt < this.#options.rejectCooldownMs) return this.#view();
    this.#log.info(
      { account: this.name },
      'a consumer reports the current access token rejected; refreshing',
    );
    return this.#refresh('rejected');
  }

  /** Refresh now (menu "Refresh now", CLI). Joins a refresh already in flight. */
  async refreshNow(): Promise<AccessTokenView> {
    if (this.#state.type === 'signed-out') throw new SignedOutError(this.name);
    if (this.#state.type === 'reauth-required')
      throw new ReauthRequiredError(this.name, this.#state.reason, this.#state.message);
    return this.#refresh('manual');
  }

  /**
   * Signs in (first login or re-login) and adopts the new tokens. The caller has already saved
   * the account record. Rejects with the provider's typed error when PikPak refuses; the keeper
   * then returns to the state it was in.
   */
  async signIn(request: SignInRequest): Promise<AccessTokenView> {
    await this.#inflight?.catch(() => undefined);
    const previous = this.#state;
    const attempt = this.#signIn(request).catch((error: unknown) => {
      this.#restoreAfterFailedSignIn(previous);
      throw error;
    });
    this.#inflight = attempt;
    try {
      return await attempt;
    } finally {
      if (this.#inflight === attempt) this.#inflight = undefined;
    }
  }

  /** A failed sign-in leaves things as they were, including a pending proactive refresh. */
  #restoreAfterFailedSignIn(previous: KeeperState): void {
    if (previous.type === 'healthy') {
      if (this.#options.backgroundRefresh)
        this.#setTimer(
          'refresh',
          Math.max(0, previous.nextRefreshAt - this.#clock.now()),
          () => void this.#refresh('proactive').catch(() => undefined),
        );
    } else if (previous.type === 'retrying') {
      this.#setTimer(
        'refresh',
        Math.max(0, previous.nextAttemptAt - this.#clock.now()),
        () => void this.#refresh('retry').catch(() => undefined),
      );
    }
    this.#setState(previous.type === 'signing-in' || previous.type === 'refreshing' ? signedOut() : previous);
  }

  /** Forgets the account's secrets (keychain and memory) and stops refreshing. */
  async signOut(): Promise<void> {
    await this.#inflight?.catch(() => undefined);
    this.#clearTimer('refresh');
    this.#clearTimer('keychain');
    this.#refreshToken = undefined;
    this.#access = undefined;
    await this.#vault.delete(this.name, 'refresh-token');
    await this.#vault.delete(this.name, 'password');
    this.#setState(signedOut());
  }

  // ── refresh ──────────────────────────────────────────────────────────────────────────────

  #refresh(trigger: Trigger): Promise<AccessTokenView> {
    if (this.#inflight) return this.#inflight;
    const run = this.#runRefresh(trigger);
    this.#inflight = run;
    const clear = (): void => {
      if (this.#inflight === run) this.#inflight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * Waits (bounded by retryWaitMs) until the scheduled attempt has settled, then answers from the
   * state it left: a token, or the reason there is none. Waiters share one promise, not listeners.
   */
  async #awaitNextAttempt(): Promise<AccessTokenView> {
    this.#attemptSettled ??= new Promise<void>((resolve) => (this.#settleAttempt = resolve));
    let timer: TimerHandle | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = this.#clock.setTimer(resolve, this.#options.retryWaitMs);
    });
    await Promise.race([this.#attemptSettled, bound]);
    this.#clock.clearTimer(timer!);
    if (this.#state.type === 'healthy' || (this.#state.type === 'retrying' && this.#isFresh()))
      return this.#view();
    throw this.#notAvailable();
  }

  #joinInflight(): Promise<AccessTokenView> {
    return this.#inflight ?? this.getAccessToken();
  }

  async #runRefresh(trigger: Trigger): Promise<AccessTokenView> {
    this.#clearTimer('refresh');
    const token = this.#refreshToken;
    if (!token) {
      this.#enterReauth('no-refresh-token', 'No refresh token is held for this account. Sign in again.');
      throw this.#notAvailable();
    }
    this.#setState(refreshing(this.#clock.now(), this.#access?.expiresAt));
    if (this.#unusable) return this.#signInInstead(token);
    this.#log.debug({ account: this.name, trigger, token: token.fingerprint() }, 'refreshing');
    await this.#recordIntentToSpend(token);
    try {
      return await this.#adopt(await this.#callRefresh(token), 'refresh');
    } catch (error) {
      if (error instanceof InvalidGrantError) return this.#onInvalidGrant(token);
      await this.#recordOutcome(token, error);
      return this.#onRefreshFailure(error);
    }
  }

  /**
   * Write-ahead for the back-off: what the failed call proves about `token` is on disk before the
   * retry is scheduled, so a stop during the back-off leaves the restart the same knowledge.
   */
  async #recordOutcome(token: Secret, error: unknown): Promise<void> {
    // One lost answer taints the token until it is replaced: a later 503 proves only that its own
    // call granted nothing, not that the earlier one did not.
    this.#answerLost ||= intentStateAfter(error) === 'outcome-unknown';
    await this.#setIntentState(token, this.#answerLost ? 'outcome-unknown' : intentStateAfter(error));
  }

  /** Updates the intent's state if it names `token` (while a newer token waits for the keychain it names an older one). */
  async #setIntentState(token: Secret, state: RefreshIntentState): Promise<void> {
    const intent = this.#record().refreshIntent;
    if (intent?.tokenFingerprint !== token.fingerprint() || intent.state === state) return;
    await this.#updateRecord({ refreshIntent: { ...intent, state } });
  }

  async #callRefresh(token: Secret): Promise<TokenGrant> {
    this.refreshCount += 1;
    return this.#timed(() => this.#auth.refresh({ platform: this.#record().platform, refreshToken: token }));
  }

  /** Counts a grant's lifetime from when we asked, not when the answer arrived: never overestimate it. */
  async #timed(call: () => Promise<TokenGrant>): Promise<TokenGrant> {
    const sentAt = this.#clock.now();
    const grant = await call();
    return { ...grant, expiresInSec: grant.expiresInSec - (this.#clock.now() - sentAt) / 1000 };
  }

  async #onInvalidGrant(spent: Secret): Promise<AccessTokenView> {
    this.#log.warn(
      { account: this.name, token: spent.fingerprint() },
      'PikPak rejected the refresh token (invalid_grant)',
    );
    // Another holder may have rotated it and saved the newer one: try that, once.
    const stored = await this.#vault.get(this.name, 'refresh-token');
    if (stored && !stored.equals(spent)) {
      this.#log.info(
        { account: this.name, token: stored.fingerprint() },
        'the keychain holds a newer refresh token; retrying once with it',
      );
      this.#refreshToken = stored;
      this.#answerLost = false;
      await this.#recordIntent(stored);
      try {
        return await this.#adopt(await this.#callRefresh(stored), 'refresh');
      } catch (error) {
        if (!(error instanceof InvalidGrantError)) {
          await this.#recordOutcome(stored, error);
          return this.#onRefreshFailure(error);
        }
        spent = stored;
      }
    }
    this.#unusable = 'rejected';
    return this.#signInInstead(spent);
  }

  /**
   * The held token must not be sent: PikPak rejected it, or the previous run recorded its intent
   * to spend it and died before saving the answer (PikPak may have rotated it already; every
   * refresh token is presented at most once, across crashes too). Sign in with the stored
   * password, or ask the user. A transient sign-in failure retries later, still by sign-in:
   * #unusable stays set until a token is adopted.
   */
  async #signInInstead(dead: Secret): Promise<AccessTokenView> {
    const password = await this.#storedPassword();
    if (password) {
      this.#log.info(
        { account: this.name },
        this.#unusable === 'crash' || this.#unusable === 'unsaved'
          ? 'signing in with the stored password instead of re-sending a refresh token that may be spent'
          : 'signing in again with the stored password',
      );
      return this.#signInWithStoredPassword(password, dead);
    }
    if (this.#unusable === 'crash')
      this.#enterReauth(
        'rotated-during-crash',
        'The broker stopped while PikPak was rotating this refresh token, so the new one may be lost. Sign in again once; with "remember password" this recovers by itself.',
        dead,
      );
    else if (this.#unusable === 'unsaved')
      this.#enterReauth(
        'unsaved-when-stopped',
        'The newest refresh token was only in memory because the keychain was locked or unavailable when the broker stopped; the keychain holds an older one PikPak has already replaced. Sign in again once (keep the keychain unlocked); with "remember password" this recovers by itself.',
        dead,
      );
    else if (this.#answerLost)
      this.#enterReauth(
        'invalid-grant',
        'PikPak rejected the refresh token: an earlier refresh with it got no answer (timeout or dropped connection), and PikPak had rotated it then, so the new token never arrived. Sign in again; with "remember password" this recovers by itself.',
        dead,
      );
    else
      this.#enterReauth(
        'invalid-grant',
        'PikPak rejected the refresh token (it was used by another program or revoked). Sign in again.',
        dead,
      );
    throw this.#notAvailable();
  }

  /** The password the user allowed us to keep, if any. */
  async #storedPassword(): Promise<Secret | undefined> {
    return this.#record().rememberPassword ? this.#vault.get(this.name, 'password') : undefined;
  }

  /**
   * Signs in with the stored password in place of a refresh token that cannot be used (`dead`).
   * A transient failure backs off and keeps trying; anything else needs the user.
   */
  async #signInWithStoredPassword(password: Secret, dead: Secret): Promise<AccessTokenView> {
    const record = this.#record();
    try {
      return await this.#signIn({
        username: record.username,
        password,
        platform: record.platform,
        deviceId: record.deviceId,
        rememberPassword: true,
      });
    } catch (error) {
      if (error instanceof PikPakError && error.retryable && !(error instanceof InvalidGrantError))
        return this.#onRefreshFailure(error);
      this.#enterSignInFailed(error, dead);
      throw this.#notAvailable();
    }
  }

  /** Transient failure, rate limit or an unexpected answer: back off, keep the token. */
  #onRefreshFailure(error: unknown): AccessTokenView {
    const summary = summarize(error);
    this.#attempt += 1;
    const retryAfter = error instanceof RateLimitedError ? error.retryAfterMs : undefined;
    this.#log.warn(
      { account: this.name, attempt: this.#attempt, error: summary },
      'refresh failed; will retry',
    );
    this.#enterRetrying(summary, retryAfter, () => void this.#refresh('retry').catch(() => undefined));
    // A caller may still use an access token that has not expired yet.
    if (this.#access && this.#access.expiresAt > this.#clock.now()) return this.#view();
    throw this.#notAvailable();
  }

  // ── sign-in ──────────────────────────────────────────────────────────────────────────────

  async #signIn(request: SignInRequest): Promise<AccessTokenView> {
    this.#clearTimer('refresh');
    this.#setState(signingIn(this.#clock.now()));
    const grant = await this.#timed(() =>
      this.#auth.signIn({
        platform: request.platform,
        username: request.username,
        password: request.password,
        deviceId: request.deviceId,
        captchaToken: request.captchaToken,
      }),
    );
    if (request.rememberPassword) await this.#vault.set(this.name, 'password', request.password);
    else await this.#vault.delete(this.name, 'password');
    return this.#adopt(grant, 'sign-in');
  }

  // ── adopting new tokens (write-ahead) ────────────────────────────────────────────────────

  async #adopt(grant: TokenGrant, via: 'refresh' | 'sign-in'): Promise<AccessTokenView> {
    const now = this.#clock.now();
    this.#refreshToken = grant.refreshToken;
    this.#attempt = 0;
    this.#unusable = undefined;
    this.#answerLost = false;
    // Write-ahead: the rotated token reaches the keychain before anyone sees the access token.
    const saved = await this.#vault.set(this.name, 'refresh-token', grant.refreshToken);
    if (!saved)
      this.#log.warn(
        { account: this.name },
        'could not save the new refresh token to the keychain; keeping it in memory and retrying',
      );
    const lifetimeMs = Math.max(0, grant.expiresInSec * 1000);
    this.#access = {
      token: grant.accessToken,
      tokenType: grant.tokenType || 'Bearer',
      obtainedAt: now,
      expiresAt: now + lifetimeMs,
      userId: grant.userId,
    };
    const intent = this.#record().refreshIntent;
    await this.#updateRecord({
      // Saved: nothing the keychain held before can be sent again. Not saved: the keychain still
      // holds a token PikPak has just replaced; the intent (or reauth) naming it stays until the
      // new one is saved, so that a restart never sends it (see #recordIntentToSpend), and says
      // why: the newest token lives in memory only.
      ...(saved ? { refreshIntent: undefined, reauth: undefined } : {}),
      ...(!saved && intent ? { refreshIntent: { ...intent, state: 'rotated-unsaved' as const } } : {}),
      lastRefreshAt: now,
      ...(grant.userId ? { userId: grant.userId } : {}),
    });
    const nextRefreshAt = this.#scheduleProactiveRefresh(lifetimeMs);
    if (!saved) this.#scheduleKeychainRetry();
    else this.#clearTimer('keychain');
    this.#setState(
      healthy({ accessExpiresAt: this.#access.expiresAt, refreshedAt: now, nextRefreshAt, unsaved: !saved }),
    );
    this.emit('rotated', {
      account: this.name,
      at: now,
      accessExpiresAt: this.#access.expiresAt,
      via,
      savedToKeychain: saved,
    });
    return this.#view();
  }

  #scheduleProactiveRefresh(lifetimeMs: number): number {
    const margin = Math.min(this.#options.refreshMarginMs, lifetimeMs * this.#options.refreshMarginFraction);
    const jitter = this.#random() * this.#options.jitterFraction * lifetimeMs;
    const delay = Math.max(0, lifetimeMs - margin - jitter);
    const at = this.#clock.now() + delay;
    if (!this.#stopped && this.#options.backgroundRefresh)
      this.#setTimer('refresh', delay, () => void this.#refresh('proactive').catch(() => undefined));
    return at;
  }

  #scheduleKeychainRetry(): void {
    this.#setTimer('keychain', this.#options.keychainRetryMs, () => {
      // A refresh in flight is spending the unsaved token: its own write will follow.
      if (this.#inflight) return this.#scheduleKeychainRetry();
      void this.#saveUnsaved().then((done) => {
        if (!done && !this.#stopped) this.#scheduleKeychainRetry();
      });
    });
  }

  /**
   * Offers a refresh token that lives in memory only to the keychain again (one attempt at a
   * time). Resolves true when the keychain holds the newest token. Once it does, an intent left
   * naming an older, spent token is settled.
   */
  #saveUnsaved(): Promise<boolean> {
    if (!this.#vault.hasPending(this.name, 'refresh-token')) return Promise.resolve(true);
    this.#saving ??= (async () => {
      await this.#vault.flush({ account: this.name, kind: 'refresh-token' });
      if (this.#vault.hasPending(this.name, 'refresh-token')) return false;
      this.#clearTimer('keychain');
      await this.#updateRecord({
        refreshIntent: undefined,
        ...(this.#state.type === 'reauth-required' ? {} : { reauth: undefined }),
      });
      this.#log.info({ account: this.name }, 'the new refresh token is now saved in the keychain');
      if (this.#state.type === 'healthy' && this.#state.unsaved)
        this.#setState({ ...this.#state, unsaved: false });
      return true;
    })().finally(() => (this.#saving = undefined));
    return this.#saving;
  }

  /**
   * Write-ahead for a refresh: the intent names the token a restart would find in the keychain.
   * Normally that is `token`. When `token` lives in memory only (the keychain refused it), the
   * keychain still holds an older token PikPak has already replaced, and the intent recorded
   * before that one was spent still names it: it stays. A retried write in progress settles first.
   */
  async #recordIntentToSpend(token: Secret): Promise<void> {
    await this.#saving;
    if (this.#vault.hasPending(this.name, 'refresh-token')) return;
    await this.#recordIntent(token);
  }

  // ── state, records, timers ───────────────────────────────────────────────────────────────

  #enterRetrying(lastError: ErrorSummary, hintMs: number | undefined, retry: () => void): void {
    const attempt = Math.max(1, this.#attempt);
    const delay = backoffDelay(this.#options.backoff, attempt, this.#random, hintMs);
    const nextAttemptAt = this.#clock.now() + delay;
    if (!this.#stopped) this.#setTimer('refresh', delay, retry);
    this.#setState(retrying({ attempt, nextAttemptAt, lastError, accessExpiresAt: this.#access?.expiresAt }));
  }

  #enterReauth(reason: ReauthReason, message: string, deadToken?: Secret, captchaUrl?: string): void {
    this.#clearTimer('refresh');
    this.#unusable = undefined;
    const since = this.#clock.now();
    this.#setState(reauthRequired({ reason, since, message, captchaUrl }));
    void this.#updateRecord({
      // While a newer token waits for the keychain, the intent names the spent one the keychain holds.
      ...(this.#vault.hasPending(this.name, 'refresh-token') ? {} : { refreshIntent: undefined }),
      reauth: { reason, since, message, deadTokenFingerprint: deadToken?.fingerprint() },
    });
  }

  #enterSignInFailed(error: unknown, deadToken: Secret): void {
    const captchaUrl = error instanceof CaptchaRequiredError ? error.url : undefined;
    this.#enterReauth(
      'sign-in-failed',
      captchaUrl
        ? 'The refresh token cannot be used and PikPak asks for a captcha before signing in again. Sign in from the app to solve it.'
        : `The refresh token cannot be used, and signing in again with the stored password failed (${summarize(error).message}). Sign in again.`,
      deadToken,
      captchaUrl,
    );
  }

  #notAvailable(): TokenNotAvailableError {
    const state = this.#state;
    if (state.type === 'reauth-required')
      return new ReauthRequiredError(this.name, state.reason, state.message);
    if (state.type === 'retrying')
      return new UpstreamUnavailableError(
        `PikPak cannot be reached for account "${this.name}" (${state.lastError.message})`,
        state.nextAttemptAt,
      );
    return new SignedOutError(this.name);
  }

  #isFresh(): boolean {
    const access = this.#access;
    if (!access) return false;
    const lifetime = access.expiresAt - access.obtainedAt;
    const minValidity = Math.min(this.#options.minValidityMs, lifetime / 4);
    return access.expiresAt - this.#clock.now() > minValidity;
  }

  #view(): AccessTokenView {
    const access = this.#access!;
    return {
      account: this.name,
      accessToken: access.token,
      tokenType: access.tokenType,
      expiresAt: access.expiresAt,
      userId: access.userId,
      deviceId: this.#record().deviceId,
    };
  }

  #record(): AccountRecord {
    const record = this.#records.get(this.name);
    if (!record) throw new Error(`no settings record for account "${this.name}"`);
    return record;
  }

  async #recordIntent(token: Secret): Promise<void> {
    await this.#updateRecord({
      refreshIntent: {
        tokenFingerprint: token.fingerprint(),
        startedAt: this.#clock.now(),
        state: 'in-flight',
      },
    });
  }

  /** Settings writes are best-effort here: a failed write must not block or lose a token. */
  async #updateRecord(patch: Partial<AccountRecord>): Promise<void> {
    try {
      await this.#records.update(this.name, patch);
    } catch (error) {
      this.#log.error({ account: this.name, error: summarize(error) }, 'could not update the settings file');
    }
  }

  #setState(next: KeeperState): void {
    const previous = this.#state;
    this.#state = next;
    if (next.type !== 'refreshing' && next.type !== 'signing-in' && next.type !== 'retrying')
      this.#releaseWaiters();
    else if (next.type === 'retrying' && (previous.type === 'refreshing' || previous.type === 'signing-in'))
      this.#releaseWaiters();
    if (previous.type !== next.type)
      this.#log.info(
        { account: this.name, from: previous.type, to: next.type },
        describeState(next, this.#clock.now()),
      );
    this.emit('state', next, previous);
  }

  #releaseWaiters(): void {
    this.#settleAttempt?.();
    this.#attemptSettled = undefined;
    this.#settleAttempt = undefined;
  }

  #setTimer(which: 'refresh' | 'keychain', ms: number, fn: () => void): void {
    this.#clearTimer(which);
    const handle = this.#clock.setTimer(() => {
      if (which === 'refresh') this.#refreshTimer = undefined;
      else this.#keychainTimer = undefined;
      fn();
    }, ms);
    if (which === 'refresh') this.#refreshTimer = handle;
    else this.#keychainTimer = handle;
  }

  #clearTimer(which: 'refresh' | 'keychain'): void {
    const handle = which === 'refresh' ? this.#refreshTimer : this.#keychainTimer;
    if (handle) this.#clock.clearTimer(handle);
    if (which === 'refresh') this.#refreshTimer = undefined;
    else this.#keychainTimer = undefined;
  }
}
