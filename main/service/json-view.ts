/**
 * The API's JSON shapes, built from the broker's objects. Times are ISO 8601 strings, field names
 * snake_case. Access tokens appear only in `tokenJson`; refresh tokens and passwords never.
 */
import type { AccountSummary, BrokerStatus } from '../core/broker.js';
import type { AccessTokenView } from '../core/keeper.js';
import type { KeeperState } from '../core/keeper-state.js';
import type { Client } from './client-registry.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export const secondsLeft = (expiresAt: number, now: number): number =>
  Math.max(0, Math.floor((expiresAt - now) / 1000));

/** The last expiry formatted (every request until the next rotation asks for the same one). */
let lastExpiry = Number.NaN;
let lastExpiryIso = '';

function expiryIso(ms: number): string {
  if (ms !== lastExpiry) {
    lastExpiryIso = new Date(ms).toISOString();
    lastExpiry = ms;
  }
  return lastExpiryIso;
}

/** `GET /v1/accounts/{name}/token`, `POST …/token/rejected`. Built as a string: the hot path. */
export function tokenJson(view: AccessTokenView, now: number): string {
  // Concatenated rather than JSON.stringify({...}): same text, no intermediate object.
  return (
    `{"account":${JSON.stringify(view.account)}` +
    `,"access_token":${JSON.stringify(view.accessToken.reveal())}` +
    `,"token_type":${JSON.stringify(view.tokenType)}` +
    `,"expires_at":"${expiryIso(view.expiresAt)}"` +
    `,"expires_in":${secondsLeft(view.expiresAt, now)}` +
    `,"user_id":${JSON.stringify(view.userId)}` +
    `,"device_id":${JSON.stringify(view.deviceId)}}`
  );
}

/** What a consumer may know about an account (`GET /v1/accounts`). */
export function accountJson(a: AccountSummary): Record<string, unknown> {
  return {
    name: a.name,
    health: a.health,
    state: a.state.type,
    description: a.description,
    expires_at: iso(a.accessExpiresAt),
    platform: a.platform,
    device_id: a.deviceId,
    user_id: a.userId ?? null,
  };
}

/** The owner's full view of an account (`GET /v1/status`). */
export function accountStatusJson(a: AccountSummary): Record<string, unknown> {
  return {
    ...accountJson(a),
    username: a.username,
    remember_password: a.rememberPassword,
    last_refresh_at: iso(a.lastRefreshAt),
    state_detail: stateJson(a.state),
  };
}

export function statusJson(status: BrokerStatus): Record<string, unknown> {
  return {
    health: status.health,
    keychain: {
      available: status.keychain.available,
      problem: status.keychain.problem ?? null,
      pending_writes: status.keychain.pendingWrites,
      description: status.keychain.description,
    },
    accounts: status.accounts.map(accountStatusJson),
  };
}

/** A keeper state with its timestamps as ISO strings. */
export function stateJson(state: KeeperState): Record<string, unknown> {
  switch (state.type) {
    case 'signed-out':
      return { type: state.type };
    case 'signing-in':
      return { type: state.type, since: iso(state.since) };
    case 'healthy':
      return {
        type: state.type,
        access_expires_at: iso(state.accessExpiresAt),
        refreshed_at: iso(state.refreshedAt),
        next_refresh_at: iso(state.nextRefreshAt),
        unsaved: state.unsaved,
      };
    case 'refreshing':
      return { type: state.type, since: iso(state.since), access_expires_at: iso(state.accessExpiresAt) };
    case 'retrying':
      return {
        type: state.type,
        attempt: state.attempt,
        next_attempt_at: iso(state.nextAttemptAt),
        last_error: { code: state.lastError.code, message: state.lastError.message },
        access_expires_at: iso(state.accessExpiresAt),
      };
    case 'reauth-required':
      return {
        type: state.type,
        reason: state.reason,
        since: iso(state.since),
        message: state.message,
        captcha_url: state.captchaUrl ?? null,
      };
  }
}

export function clientJson(c: Client): Record<string, unknown> {
  return {
    name: c.name,
    accounts: [...c.accounts],
    created_at: iso(c.createdAt),
    last_used_at: iso(c.lastUsedAt),
  };
}
