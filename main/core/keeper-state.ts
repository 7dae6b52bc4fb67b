/**
 * The token keeper's state machine, one per PikPak account. Each state carries only its own
 * data; the tray, the service's health endpoint and notifications are pure functions of it.
 *
 *                      login                      ok
 *   ┌───────────┐ ──────────────▶ ┌────────────┐ ───────▶ ┌─────────┐  timer / demand  ┌────────────┐
 *   │signed-out │                 │ signing-in │          │ healthy │ ───────────────▶ │ refreshing │
 *   └───────────┘ ◀── logout ──── └────────────┘          └─────────┘ ◀─────── ok ──── └────────────┘
 *                                   ▲     │ rejected            ▲                        │   │
 *                         re-login  │     ▼                     │ ok        transient    │   │ invalid_grant, after
 *                        ┌──────────────────┐                ┌──────────┐ ◀────────────┘   │ re-reading the vault and
 *                        │ reauth-required  │ ◀───────────── │ retrying │ ── timer ──▶     │ (if allowed) signing in
 *                        └──────────────────┘   (never from  └──────────┘  refreshing      │ with the stored password
 *                                 ▲              transient)                                │
 *                                 └────────────────────────────────────────────────────────┘
 */

export type KeeperState = SignedOut | SigningIn | Healthy | Refreshing | Retrying | ReauthRequired;
export type KeeperStateType = KeeperState['type'];

export interface SignedOut {
  readonly type: 'signed-out';
}

export interface SigningIn {
  readonly type: 'signing-in';
  readonly since: number;
}

export interface Healthy {
  readonly type: 'healthy';
  /** When the current access token expires (obtained-at + expires_in; never read from the token). */
  readonly accessExpiresAt: number;
  readonly refreshedAt: number;
  /** When the next proactive refresh is due. */
  readonly nextRefreshAt: number;
  /** The rotated refresh token is only in memory: the keychain write failed and is being retried. */
  readonly unsaved: boolean;
}

export interface Refreshing {
  readonly type: 'refreshing';
  readonly since: number;
  /** Expiry of the access token still held, if any (it can be served while the refresh runs). */
  readonly accessExpiresAt: number | undefined;
}

export interface Retrying {
  readonly type: 'retrying';
  readonly attempt: number;
  readonly nextAttemptAt: number;
  readonly lastError: ErrorSummary;
  readonly accessExpiresAt: number | undefined;
}

export type ReauthReason =
  /** PikPak rejected the refresh token (used elsewhere or revoked) and no newer one exists. */
  | 'invalid-grant'
  /** The broker stopped between PikPak's rotation and the keychain write; the new token was lost. */
  | 'rotated-during-crash'
  /**
   * The broker stopped while the newest refresh token lived in memory only (the keychain was
   * locked or unavailable); the keychain holds an older one PikPak has already replaced.
   */
  | 'unsaved-when-stopped'
  /** An account is configured but the keychain holds no refresh token for it. */
  | 'no-refresh-token'
  /** Automatic re-login with the stored password failed (password changed, captcha needed, ...). */
  | 'sign-in-failed';

export interface ReauthRequired {
  readonly type: 'reauth-required';
  readonly reason: ReauthReason;
  readonly since: number;
  /** What happened and what to do, for people. */
  readonly message: string;
  /** A captcha challenge page PikPak asked a human to solve, when that is what blocks re-login. */
  readonly captchaUrl?: string | undefined;
}

/** An error as states and events carry it: no stack, no secrets. */
export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
}

export const signedOut = (): SignedOut => ({ type: 'signed-out' });
export const signingIn = (since: number): SigningIn => ({ type: 'signing-in', since });
export const healthy = (data: Omit<Healthy, 'type'>): Healthy => ({ type: 'healthy', ...data });
export const refreshing = (since: number, accessExpiresAt: number | undefined): Refreshing => ({
  type: 'refreshing',
  since,
  accessExpiresAt,
});
export const retrying = (data: Omit<Retrying, 'type'>): Retrying => ({ type: 'retrying', ...data });
export const reauthRequired = (data: Omit<ReauthRequired, 'type'>): ReauthRequired => ({
  type: 'reauth-required',
  ...data,
});

/** Tray health: ok (green), warn (amber), error (red), idle (grey), busy (spinner). */
export type Health = 'ok' | 'warn' | 'error' | 'idle' | 'busy';

export interface HealthOptions {
  /** A healthy token this close to expiry without a successful refresh counts as warn. */
  readonly expiringSoonMs: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = { expiringSoonMs: 60_000 };

export function healthOf(state: KeeperState, now: number, options = DEFAULT_HEALTH_OPTIONS): Health {
  switch (state.type) {
    case 'signed-out':
      return 'idle';
    case 'signing-in':
    case 'refreshing':
      return 'busy';
    case 'healthy':
      if (state.unsaved) return 'warn';
      // Expiring soon and the proactive refresh is overdue (e.g. the machine slept): a refresh
      // is still possible, so amber, not red.
      return state.accessExpiresAt - now < options.expiringSoonMs && state.nextRefreshAt <= now
        ? 'warn'
        : 'ok';
    case 'retrying':
      return state.accessExpiresAt !== undefined && state.accessExpiresAt > now ? 'warn' : 'error';
    case 'reauth-required':
      return 'error';
  }
}

/** The worst of several healths, for one tray icon over many accounts. */
export function worstHealth(healths: readonly Health[]): Health {
  const order: Health[] = ['error', 'warn', 'busy', 'ok', 'idle'];
  for (const h of order) if (healths.includes(h)) return h;
  return 'idle';
}

/** One line in words, for the CLI, tooltips and logs. */
export function describeState(state: KeeperState, now: number): string {
  switch (state.type) {
    case 'signed-out':
      return 'signed out';
    case 'signing-in':
      return 'signing in…';
    case 'healthy':
      return `healthy, access token valid for ${formatDuration(state.accessExpiresAt - now)}${
        state.unsaved ? ' (new refresh token not yet saved to the keychain; retrying)' : ''
      }`;
    case 'refreshing':
      return 'refreshing…';
    case 'retrying':
      return `retrying in ${formatDuration(state.nextAttemptAt - now)} (attempt ${state.attempt}): ${state.lastError.message}`;
    case 'reauth-required':
      return `re-login needed: ${state.message}`;
  }
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}
