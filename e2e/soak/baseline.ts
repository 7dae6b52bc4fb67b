/**
 * The baseline the product exists to beat, in the same run: two naive holders of ONE emulator
 * account (like two AList storages of one PikPak account), each with its own copy of the same
 * refresh token, each refreshing by itself when PikPak refuses its access token. PikPak's refresh
 * tokens are single-use, so the first rotation by one kills the other's copy: `invalid_grant`.
 *
 * When a holder is locked out, its owner pastes the other holder's current refresh token into it
 * after `repasteMs` (what people do to get a dead AList storage working again), and the two share
 * one token again — until the next rotation. If both are dead, the owner signs in afresh. Every
 * invalid_grant is counted; the first lock-out's time is reported.
 */
import { Agent } from 'node:http';
import { PRESETS } from '../../main/pikpak/protocol.js';
import { signIn } from '../emulator/test-client.js';
import { HttpCallError, httpCall, pause } from './http-client.js';
import type { BaselineResult } from './types.js';

export interface BaselineOptions {
  readonly emulatorUrl: string;
  readonly username: string;
  readonly password: string;
  readonly repasteMs: number;
  readonly pauseMs: number;
  /** The holders' own HTTP timeout (the broker's PikPak client uses 15 s). */
  readonly timeoutMs: number;
}

interface Holder {
  readonly name: string;
  refreshToken: string;
  accessToken: string;
  lockedSince: number | undefined;
}

export class NaiveHolders {
  readonly #o: BaselineOptions;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });
  readonly #holders: Holder[] = [];
  readonly #transient: Record<string, number> = {};
  #refreshes = 0;
  #invalidGrants = 0;
  #firstLockout: number | undefined;
  #repastes = 0;
  #driveOk = 0;
  #loadStart = 0;

  constructor(options: BaselineOptions) {
    this.#o = options;
  }

  /** Signs in once and gives both holders a copy of the same tokens. */
  async prepare(): Promise<void> {
    const first = await signIn(
      this.#o.emulatorUrl,
      PRESETS.android,
      this.#o.username,
      this.#o.password,
      'e'.repeat(32),
    );
    for (const name of ['storage-a', 'storage-b'])
      this.#holders.push({
        name,
        refreshToken: first.refresh_token,
        accessToken: first.access_token,
        lockedSince: undefined,
      });
  }

  async run(loadStart: number, signal: AbortSignal): Promise<void> {
    this.#loadStart = loadStart;
    await Promise.all(this.#holders.map((h) => this.#loop(h, signal)));
  }

  result(emulatorReuseAttempts: number): BaselineResult {
    this.#agent.destroy();
    return {
      account: this.#o.username,
      holders: this.#holders.length,
      model:
        `two holders with a copy of one refresh token, each refreshing when PikPak refuses its access token; ` +
        `a locked-out holder gets the other's current token pasted in after ${this.#o.repasteMs / 1000} s`,
      refreshes: this.#refreshes,
      invalidGrants: this.#invalidGrants,
      firstLockoutAfterS:
        this.#firstLockout === undefined
          ? null
          : Math.round((this.#firstLockout - this.#loadStart) / 100) / 10,
      repastes: this.#repastes,
      transientFailures: { ...this.#transient },
      driveOk: this.#driveOk,
      emulatorReuseAttempts,
    };
  }

  async #loop(holder: Holder, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (holder.lockedSince !== undefined) {
        await pause(Math.max(0, holder.lockedSince + this.#o.repasteMs - Date.now()), signal);
        if (signal.aborted) break;
        await this.#repaste(holder);
        continue;
      }
      const used = await this.#drive(holder.accessToken, signal);
      if (used === 'ok') this.#driveOk += 1;
      if (used === 'refused') await this.#refresh(holder, signal);
      await pause(this.#o.pauseMs, signal);
    }
  }

  async #refresh(holder: Holder, signal: AbortSignal): Promise<void> {
    let answer;
    try {
      answer = await httpCall({
        target: { base: this.#o.emulatorUrl },
        method: 'POST',
        path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
        json: {
          client_id: PRESETS.android.clientId,
          client_secret: PRESETS.android.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: holder.refreshToken,
        },
        agent: this.#agent,
        timeoutMs: this.#o.timeoutMs,
        signal,
      });
    } catch (error) {
      if (!signal.aborted) this.#count(error instanceof HttpCallError ? error.code : 'error');
      return;
    }
    const body = answer.json as
      { access_token?: string; refresh_token?: string; error?: string; error_code?: number } | undefined;
    if (answer.status === 200 && body?.access_token && body.refresh_token) {
      this.#refreshes += 1;
      holder.accessToken = body.access_token;
      holder.refreshToken = body.refresh_token; // the rotated token is this holder's alone now
      return;
    }
    if (body?.error === 'invalid_grant') {
      this.#invalidGrants += 1;
      this.#firstLockout ??= Date.now();
      holder.lockedSince = Date.now();
      return;
    }
    this.#count(`${answer.status} ${body?.error ?? 'not-pikpak-shape'}`);
  }

  /** The owner fixes a locked-out holder: the other's live token, or a fresh sign-in if both are dead. */
  async #repaste(holder: Holder): Promise<void> {
    const other = this.#holders.find((h) => h !== holder && h.lockedSince === undefined);
    this.#repastes += 1;
    if (other) {
      holder.refreshToken = other.refreshToken;
      holder.accessToken = other.accessToken;
      holder.lockedSince = undefined;
      return;
    }
    try {
      const fresh = await signIn(
        this.#o.emulatorUrl,
        PRESETS.android,
        this.#o.username,
        this.#o.password,
        'e'.repeat(32),
      );
      for (const h of this.#holders) {
        h.refreshToken = fresh.refresh_token;
        h.accessToken = fresh.access_token;
        h.lockedSince = undefined;
      }
    } catch {
      this.#count('sign-in failed');
      holder.lockedSince = Date.now();
    }
  }

  async #drive(token: string, signal: AbortSignal): Promise<'ok' | 'refused' | 'error'> {
    try {
      const answer = await httpCall({
        target: { base: this.#o.emulatorUrl },
        path: '/drive/v1/about',
        headers: { authorization: `Bearer ${token}` },
        agent: this.#agent,
        timeoutMs: this.#o.timeoutMs,
        signal,
      });
      if (answer.status === 200) return 'ok';
      return answer.status === 401 ? 'refused' : 'error';
    } catch {
      return 'error';
    }
  }

  #count(key: string): void {
    this.#transient[key] = (this.#transient[key] ?? 0) + 1;
  }
}
