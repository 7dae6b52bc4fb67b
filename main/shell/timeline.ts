/**
 * Recent events for the status window: a bounded list, newest first, built from the broker's
 * events and the client approvals. The text of each entry is a pure function of its event.
 * Routine refresh cycles show up once each (as the rotation), not as every state they pass.
 */
import type { AccountStateEvent } from '../core/broker.js';
import type { RotationEvent } from '../core/keeper.js';
import { formatDuration } from '../core/keeper-state.js';
import type { VaultStatus } from '../core/vault.js';
import type { TimelineEntry } from './ipc-channels.js';

export type TimelineDraft = Omit<TimelineEntry, 'id' | 'at'>;

/** What a state change adds to the timeline, if anything. */
export function describeTransition(event: AccountStateEvent, now: number): TimelineDraft | undefined {
  const { account, state, previous, health } = event;
  switch (state.type) {
    case 'signing-in':
      return { account, health, text: 'Signing in…' };
    case 'refreshing':
      return undefined; // the rotation (or the failure) that follows says it
    case 'healthy':
      if (state.unsaved)
        return {
          account,
          health,
          text: 'New refresh token held in memory: the keychain refused it; retrying',
        };
      return previous.type === 'retrying' || previous.type === 'reauth-required'
        ? { account, health, text: 'Working again' }
        : undefined;
    case 'retrying':
      return {
        account,
        health,
        text: `Refresh failed (${state.lastError.message}); retry ${state.attempt} in ${formatDuration(
          state.nextAttemptAt - now,
        )}`,
      };
    case 'reauth-required':
      return { account, health, text: `Sign-in needed: ${state.message}` };
    case 'signed-out':
      return previous.type === 'signed-out' ? undefined : { account, health, text: 'Signed out' };
  }
}

export function describeRotation(event: RotationEvent): TimelineDraft {
  const validity = `token valid for ${formatDuration(event.accessExpiresAt - event.at)}`;
  const saved = event.savedToKeychain ? '' : ' (refresh token not yet in the keychain)';
  return {
    account: event.account,
    health: undefined,
    text: event.via === 'sign-in' ? `Signed in; ${validity}${saved}` : `Refreshed; ${validity}${saved}`,
  };
}

export function describeKeychain(status: VaultStatus): TimelineDraft {
  return {
    account: undefined,
    health: status.available ? undefined : 'warn',
    text: status.available
      ? 'Keychain available'
      : `Keychain unavailable (${status.problem ?? 'unknown problem'}): tokens are kept in memory only`,
  };
}

export class Timeline {
  readonly #limit: number;
  #entries: TimelineEntry[] = [];
  #seq = 0;

  constructor(limit = 100) {
    this.#limit = limit;
  }

  add(at: number, draft: TimelineDraft | undefined): void {
    if (!draft) return;
    this.#entries = [{ id: ++this.#seq, at, ...draft }, ...this.#entries].slice(0, this.#limit);
  }

  /** Newest first. */
  entries(): readonly TimelineEntry[] {
    return this.#entries;
  }
}
