/**
 * Accounts and the tokens PikPak issues for them: sign-in, strict single-use refresh rotation,
 * access-token checks, revocation, and the refresh-token lineage that stats expose.
 *
 * Every method is synchronous: between looking a refresh token up and rotating it there is no
 * await, so concurrent requests are serialised by the event loop exactly as a database
 * transaction would serialise them at PikPak. Tokens are random and opaque (no embedded expiry).
 */
import { createHash } from 'node:crypto';

import { Secret } from '../../main/core/secret.js';
import type { TokenResponseBody } from '../../main/pikpak/protocol.js';
import type { EmulatorAccount, EmulatorAccountStats, RefreshTokenLineageEntry } from './types.js';

export interface Account {
  username: string;
  password: string;
  userId: string;
  lineage: RefreshTokenLineageEntry[];
  reuseAttempts: number;
}

interface RefreshRecord {
  account: Account;
  clientId: string;
  entry: RefreshTokenLineageEntry;
}

interface AccessRecord {
  account: Account;
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

export type RefreshOutcome =
  | { ok: true; account: Account; tokens: TokenResponseBody }
  | { ok: false; reason: 'unknown' | 'reused' | 'revoked' | 'other-client'; account?: Account };

export type AccessCheck =
  { ok: true; account: Account; clientId: string } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' };

export interface TokenAuthorityDeps {
  now: () => number;
  random: (bytes: number) => Buffer;
  accessTtlSeconds: () => number;
}

/** PikPak-looking but opaque: a prefix and base64url randomness. */
export function randomToken(random: (bytes: number) => Buffer, prefix: string, bytes = 32): string {
  return prefix + random(bytes).toString('base64url');
}

export function fingerprint(token: string): string {
  return new Secret(token).fingerprint();
}

/** A stable, PikPak-looking user id (`sub`) derived from the username. */
export function deriveUserId(username: string): string {
  return 'ZN' + createHash('sha256').update(username).digest('hex').slice(0, 14).toUpperCase();
}

const SWEEP_EVERY = 1000;
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

export class TokenAuthority {
  readonly #deps: TokenAuthorityDeps;
  readonly #accounts = new Map<string, Account>();
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #access = new Map<string, AccessRecord>();
  #issued = 0;

  constructor(deps: TokenAuthorityDeps) {
    this.#deps = deps;
  }

  addAccount(input: EmulatorAccount): string {
    const existing = this.#accounts.get(input.username);
    const userId = input.userId ?? existing?.userId ?? deriveUserId(input.username);
    if (existing) {
      existing.password = input.password;
      existing.userId = userId;
    } else {
      this.#accounts.set(input.username, {
        username: input.username,
        password: input.password,
        userId,
        lineage: [],
        reuseAttempts: 0,
      });
    }
    return userId;
  }

  /** Constant-time password check; undefined for an unknown user or a wrong password. */
  authenticate(username: string, password: string): Account | undefined {
    const account = this.#accounts.get(username);
    const ok = new Secret(account?.password ?? '\u0000no-account').equals(password);
    return account && ok ? account : undefined;
  }

  signIn(account: Account, clientId: string): TokenResponseBody {
    return this.#issue(account, clientId, 'signin');
  }

  /** Strict single-use rotation: the presented token is dead once this returns ok. */
  refresh(token: string, clientId: string): RefreshOutcome {
    const record = this.#refresh.get(token);
    if (!record) return { ok: false, reason: 'unknown' };
    const { account, entry } = record;
    entry.presentations += 1;
    if (entry.revokedAt !== undefined) {
      account.reuseAttempts += 1;
      return { ok: false, reason: 'revoked', account };
    }
    if (entry.usedAt !== undefined) {
      account.reuseAttempts += 1;
      return { ok: false, reason: 'reused', account };
    }
    // Bound to the client that obtained it; presenting it elsewhere does not spend it.
    if (record.clientId !== clientId) return { ok: false, reason: 'other-client', account };
    entry.usedAt = this.#deps.now();
    return { ok: true, account, tokens: this.#issue(account, clientId, 'refresh', entry.id) };
  }

  checkAccess(token: string): AccessCheck {
    const record = this.#access.get(token);
    if (!record) return { ok: false, reason: 'unknown' };
    if (record.revoked) return { ok: false, reason: 'revoked' };
    if (this.#deps.now() >= record.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, account: record.account, clientId: record.clientId };
  }

  /** Kills the account's live refresh tokens (and, if asked, its access tokens). */
  revoke(username: string, options: { accessTokens?: boolean } = {}): number | undefined {
    const account = this.#accounts.get(username);
    if (!account) return undefined;
    const now = this.#deps.now();
    let revoked = 0;
    for (const record of this.#refresh.values()) {
      if (record.account !== account) continue;
      if (record.entry.usedAt === undefined && record.entry.revokedAt === undefined) {
        record.entry.revokedAt = now;
        revoked += 1;
      }
    }
    if (options.accessTokens) {
      for (const record of this.#access.values()) if (record.account === account) record.revoked = true;
    }
    return revoked;
  }

  accountStats(): Record<string, EmulatorAccountStats> {
    const out: Record<string, EmulatorAccountStats> = {};
    for (const account of this.#accounts.values()) {
      out[account.username] = {
        userId: account.userId,
        refreshTokenLineage: account.lineage.map((entry) => ({ ...entry })),
        reuseAttempts: account.reuseAttempts,
      };
    }
    return out;
  }

  #issue(
    account: Account,
    clientId: string,
    issuedBy: 'signin' | 'refresh',
    parent?: string,
  ): TokenResponseBody {
    const now = this.#deps.now();
    const ttl = this.#deps.accessTtlSeconds();
    const accessToken = this.#fresh(this.#access, 'at.');
    const refreshToken = this.#fresh(this.#refresh, 'os.');
    const entry: RefreshTokenLineageEntry = {
      id: fingerprint(refreshToken),
      clientId,
      issuedAt: now,
      issuedBy,
      ...(parent === undefined ? {} : { parent }),
      presentations: 0,
    };
    account.lineage.push(entry);
    this.#refresh.set(refreshToken, { account, clientId, entry });
    this.#access.set(accessToken, { account, clientId, expiresAt: now + ttl * 1000, revoked: false });
    if (++this.#issued % SWEEP_EVERY === 0) this.#sweep(now);
    return {
      token_type: 'Bearer',
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: ttl,
      sub: account.userId,
    };
  }

  /** A token not yet in `map`, even if an injected `random` repeats itself. */
  #fresh(map: Map<string, unknown>, prefix: string): string {
    let token = randomToken(this.#deps.random, prefix);
    for (let n = 1; map.has(token); n++) token = `${randomToken(this.#deps.random, prefix)}.${n}`;
    return token;
  }

  /** Forgets access tokens long expired, so long benchmarks do not grow without bound. */
  #sweep(now: number): void {
    for (const [token, record] of this.#access) {
      if (now - record.expiresAt > KEEP_EXPIRED_MS) this.#access.delete(token);
    }
  }
}
