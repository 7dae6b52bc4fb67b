import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimitedError, TransientError } from '../pikpak/errors/index.js';
import { Keeper, type AccountRecordStore, type KeeperOptions } from './keeper.js';
import { ReauthRequiredError, SignedOutError, UpstreamUnavailableError } from './keeper-errors.js';
import type { KeeperStateType } from './keeper-state.js';
import { silentLogger, type AccountRecord } from './ports.js';
import { Secret } from './secret.js';
import { FakeAuth } from './testing/fake-auth.js';
import { FakeClock, seededRandom, settle } from './testing/fake-clock.js';
import { FakeSecretStore } from './testing/fake-secret-store.js';
import { Vault } from './vault.js';

const ACCOUNT = 'main';

class MemoryRecords implements AccountRecordStore {
  record: AccountRecord;
  updates = 0;
  constructor(record: Partial<AccountRecord> = {}) {
    this.record = {
      name: ACCOUNT,
      username: 'user@example.com',
      platform: 'android',
      deviceId: 'dev-1',
      rememberPassword: false,
      createdAt: 0,
      ...record,
    };
  }
  get(name: string): AccountRecord | undefined {
    return name === ACCOUNT ? this.record : undefined;
  }
  async update(_name: string, patch: Partial<AccountRecord>): Promise<void> {
    this.updates += 1;
    this.record = { ...this.record, ...patch };
  }
}

interface Rig {
  clock: FakeClock;
  auth: FakeAuth;
  store: FakeSecretStore;
  vault: Vault;
  records: MemoryRecords;
  keeper: Keeper;
  states: KeeperStateType[];
}

function rig(
  opts: { record?: Partial<AccountRecord>; options?: Partial<KeeperOptions>; token?: boolean } = {},
): Rig {
  const clock = new FakeClock();
  const auth = new FakeAuth();
  const store = new FakeSecretStore();
  const vault = new Vault(store, silentLogger);
  const records = new MemoryRecords(opts.record);
  if (opts.token !== false) store.entries.set(`${ACCOUNT}/refresh-token`, auth.mint());
  const keeper = new Keeper({
    account: ACCOUNT,
    records,
    vault,
    auth,
    clock,
    random: seededRandom(7),
    log: silentLogger,
    options: opts.options,
  });
  const states: KeeperStateType[] = [];
  keeper.on('state', (s) => states.push(s.type));
  return { clock, auth, store, vault, records, keeper, states };
}

const storedToken = (r: Rig) => r.store.entries.get(`${ACCOUNT}/refresh-token`)?.reveal();

describe('Keeper: start-up and refresh', () => {
  it('starts from the keychain token, refreshes once and stores the rotated token', async () => {
    const r = rig();
    const before = storedToken(r);
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.refreshCalls, 1);
    assert.notEqual(storedToken(r), before, 'rotated token must replace the spent one');
    assert.equal(r.auth.issued.at(-1)!.token, storedToken(r));
    assert.equal(r.records.record.refreshIntent, undefined, 'intent cleared after the keychain write');
    assert.equal(r.records.record.lastRefreshAt, r.clock.now());
    assert.equal(r.records.record.userId, 'user-1');
    assert.deepEqual(r.states, ['refreshing', 'healthy']);
    const view = await r.keeper.getAccessToken();
    assert.equal(view.accessToken.reveal(), 'at-2');
    assert.equal(view.deviceId, 'dev-1');
    assert.equal(view.expiresAt, r.clock.now() + 3600_000);
  });

  it('records the refresh intent before the upstream call', async () => {
    const r = rig();
    r.auth.hold();
    const started = r.keeper.start();
    await settle();
    const spent = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    assert.equal(r.records.record.refreshIntent?.tokenFingerprint, spent.fingerprint());
    r.auth.release();
    await started;
    assert.equal(r.records.record.refreshIntent, undefined);
  });

  it('hands out no access token before the rotated refresh token is in the keychain (write-ahead)', async () => {
    const r = rig();
    await r.keeper.start();
    const old = await r.keeper.getAccessToken();
    r.store.holdWrites();
    r.auth.hold();
    let resolved = false;
    const pending = r.keeper.refreshNow().then((v) => {
      resolved = true;
      return v;
    });
    r.auth.release();
    await settle();
    assert.equal(resolved, false, 'the new access token must wait for the keychain write');
    const meanwhile = await r.keeper.getAccessToken();
    assert.equal(meanwhile.accessToken.reveal(), old.accessToken.reveal(), 'others still get the old token');
    r.store.release();
    const view = await pending;
    assert.notEqual(view.accessToken.reveal(), old.accessToken.reveal());
    assert.equal(r.store.writes.at(-1)!.fingerprint, new Secret(storedToken(r)!).fingerprint());
    assert.ok(view.expiresAt > r.clock.now());
  });

  it('serves a herd of concurrent callers with exactly one upstream refresh (single-flight)', async () => {
    const r = rig();
    await r.keeper.start();
    await r.clock.advance(3600_000); // access token now expired
    r.auth.hold();
    const calls = Array.from({ length: 200 }, () => r.keeper.getAccessToken());
    await settle();
    r.auth.release();
    const views = await Promise.all(calls);
    assert.equal(r.auth.refreshCalls, 2, 'one at start-up, one for the whole herd');
    assert.equal(new Set(views.map((v) => v.accessToken.reveal())).size, 1);
    assert.equal(r.auth.invalidGrantCount, 0);
  });

  it('joins every trigger (manual, rejection report, timer, demand) into one refresh', async () => {
    const r = rig({ options: { rejectCooldownMs: 0 } });
    await r.keeper.start();
    const current = await r.keeper.getAccessToken();
    await r.clock.advance(1000);
    r.auth.hold();
    const all = [
      ...Array.from({ length: 20 }, () => r.keeper.refreshNow()),
      ...Array.from({ length: 20 }, () => r.keeper.reportRejected(current.accessToken)),
    ];
    await r.clock.advance(3600_000); // the proactive timer fires while the refresh is held
    all.push(r.keeper.getAccessToken());
    r.auth.release();
    const views = await Promise.all(all);
    assert.equal(r.auth.refreshCalls, 2, 'one at start-up, one for all triggers');
    // The rejection reports came while the refresh was in flight: they wait for it like the rest.
    const fresh = views.map((v) => v.accessToken.reveal());
    assert.equal(new Set(fresh).size, 1);
    assert.notEqual(fresh[0], current.accessToken.reveal());
  });

  it('refreshes proactively before expiry, with jitter, through many rotations without reuse', async () => {
    const r = rig({ options: { refreshMarginMs: 300_000 } });
    await r.keeper.start();
    const refreshTimes: number[] = [];
    r.keeper.on('rotated', (e) => refreshTimes.push(e.at));
    let expiresAt = r.keeper.accessExpiresAt!;
    for (let i = 0; i < 50; i++) {
      await r.clock.runNext();
      assert.equal(r.keeper.state.type, 'healthy');
      const at = refreshTimes.at(-1)!;
      assert.ok(at <= expiresAt - 300_000, `refresh ${i} came at least the margin before expiry`);
      assert.ok(
        at >= expiresAt - 300_000 - 0.05 * 3600_000,
        `refresh ${i} came no earlier than margin + jitter`,
      );
      expiresAt = r.keeper.accessExpiresAt!;
    }
    assert.equal(refreshTimes.length, 50);
    assert.ok(
      new Set(refreshTimes.map((t, i) => t - (refreshTimes[i - 1] ?? 0))).size > 1,
      'jitter varies the schedule',
    );
    assert.ok(
      r.auth.issued.slice(0, -1).every((e) => e.used),
      'every issued refresh token but the newest was spent',
    );
    assert.equal(r.auth.invalidGrantCount, 0);
  });

  it('keeps working from memory when the keychain write fails, reports warn, and saves later', async () => {
    const r = rig({ options: { keychainRetryMs: 30_000 } });
    r.store.available = true;
    await r.keeper.start();
    r.store.available = false;
    const view = await r.keeper.refreshNow();
    assert.ok(view.accessToken.reveal().startsWith('at-'));
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.keeper.state.type === 'healthy' && r.keeper.state.unsaved, true);
    assert.equal(r.keeper.health(), 'warn');
    assert.equal(r.vault.status.available, false);
    assert.notEqual(storedToken(r), r.auth.issued.at(-1)!.token, 'keychain still holds the older token');
    r.store.available = true;
    await r.clock.advance(30_000);
    assert.equal(storedToken(r), r.auth.issued.at(-1)!.token, 'pending write reached the keychain');
    assert.equal(r.keeper.health(), 'ok');
    assert.equal(r.vault.status.available, true);
  });
});

describe('Keeper: invalid_grant', () => {
  it('re-reads the keychain and retries once with a newer token saved by another holder', async () => {
    const r = rig();
    await r.keeper.start();
    // Another holder spends our token and saves its successor in the keychain.
    const ours = r.auth.issued.at(-1)!;
    ours.used = true;
    const newer = r.auth.mint();
    r.store.entries.set(`${ACCOUNT}/refresh-token`, newer);
    await r.keeper.refreshNow();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.invalidGrantCount, 1);
    assert.equal(r.auth.issued.find((e) => e.token === newer.reveal())!.used, true);
  });

  it('signs in again with the stored password when the user allowed it', async () => {
    const r = rig({ record: { rememberPassword: true } });
    r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
    await r.keeper.start();
    r.auth.issued.at(-1)!.used = true; // spent elsewhere
    await r.keeper.refreshNow();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.signInCalls, 1);
    assert.deepEqual(r.states.slice(-3), ['refreshing', 'signing-in', 'healthy']);
  });

  it('a rejected token is not sent again while the stored-password sign-in retries a transient failure', async () => {
    const r = rig({
      record: { rememberPassword: true },
      options: { backoff: { minMs: 1000, maxMs: 1000, factor: 2, jitter: 0 } },
    });
    r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
    await r.keeper.start();
    r.auth.issued.at(-1)!.used = true; // spent elsewhere
    r.auth.failures.signIn.push(new TransientError('network', 'ECONNRESET'));
    await r.keeper.refreshNow().catch(() => undefined);
    assert.equal(r.keeper.state.type, 'retrying');
    const refreshes = r.auth.refreshCalls;
    await r.clock.runNext();
    await settle();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.signInCalls, 2);
    assert.equal(r.auth.refreshCalls, refreshes, 'the rejected token was not presented again');
  });

  it('ends in reauth-required without a password, and a restart never spends the dead token again', async () => {
    const r = rig();
    await r.keeper.start();
    r.auth.issued.at(-1)!.used = true;
    await assert.rejects(r.keeper.refreshNow(), ReauthRequiredError);
    assert.equal(r.keeper.state.type, 'reauth-required');
    assert.equal(r.keeper.state.type === 'reauth-required' && r.keeper.state.reason, 'invalid-grant');
    assert.equal(r.keeper.health(), 'error');
    await assert.rejects(
      r.keeper.getAccessToken(),
      (e: unknown) => e instanceof ReauthRequiredError && /Sign in again/.test(e.message),
    );
    assert.ok(r.records.record.reauth?.deadTokenFingerprint);
    assert.equal(r.clock.pendingTimers, 0, 'no retry loop on a dead token');

    const calls = r.auth.refreshCalls;
    const again = new Keeper({
      account: ACCOUNT,
      records: r.records,
      vault: new Vault(r.store, silentLogger),
      auth: r.auth,
      clock: r.clock,
      random: seededRandom(1),
      log: silentLogger,
    });
    await again.start();
    assert.equal(again.state.type, 'reauth-required');
    assert.equal(r.auth.refreshCalls, calls, 'the known-dead token was not sent again');
  });

  it('knows when a crash lost the rotated token and says so (rotated-during-crash)', async () => {
    const r = rig();
    const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    // The previous run recorded its intent, PikPak rotated, and the run died before saving.
    r.records.record.refreshIntent = {
      tokenFingerprint: token.fingerprint(),
      startedAt: 0,
      state: 'in-flight',
    };
    r.auth.issued.find((e) => e.token === token.reveal())!.used = true;
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'reauth-required');
    assert.equal(r.keeper.state.type === 'reauth-required' && r.keeper.state.reason, 'rotated-during-crash');
    assert.equal(r.auth.refreshCalls, 0, 'a token that may be spent is never sent a second time');
    assert.equal(r.records.record.refreshIntent, undefined, 'the intent is settled');
    assert.equal(r.records.record.reauth?.deadTokenFingerprint, token.fingerprint());

    // A restart does not loop on it either.
    const again = new Keeper({
      account: ACCOUNT,
      records: r.records,
      vault: new Vault(r.store, silentLogger),
      auth: r.auth,
      clock: r.clock,
      random: seededRandom(1),
      log: silentLogger,
    });
    await again.start();
    assert.equal(again.state.type === 'reauth-required' && again.state.reason, 'rotated-during-crash');
    assert.equal(r.auth.refreshCalls + r.auth.signInCalls, 0);
  });

  it('treats a crash-suspect token as spent even if PikPak never saw it (no second presentation)', async () => {
    const r = rig();
    const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    r.records.record.refreshIntent = {
      tokenFingerprint: token.fingerprint(),
      startedAt: 0,
      state: 'in-flight',
    };
    await r.keeper.start();
    assert.equal(r.keeper.state.type === 'reauth-required' && r.keeper.state.reason, 'rotated-during-crash');
    assert.equal(r.auth.refreshCalls, 0);
  });

  it('refreshes normally when the intent names another token (the crash came after the keychain write)', async () => {
    const r = rig();
    r.records.record.refreshIntent = {
      tokenFingerprint: new Secret('older-token').fingerprint(),
      startedAt: 0,
      state: 'in-flight',
    };
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.refreshCalls, 1);
    assert.equal(r.records.record.refreshIntent, undefined);
  });

  it('after a crash, retries a transient sign-in failure by signing in again, never by refreshing', async () => {
    const r = rig({
      record: { rememberPassword: true },
      options: { backoff: { minMs: 1000, maxMs: 1000, factor: 2, jitter: 0 } },
    });
    r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
    const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    r.records.record.refreshIntent = {
      tokenFingerprint: token.fingerprint(),
      startedAt: 0,
      state: 'in-flight',
    };
    r.auth.failures.signIn.push(new TransientError('server', 'PikPak answered 502'));
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'retrying');
    await r.clock.runNext();
    await settle();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.signInCalls, 2);
    assert.equal(r.auth.refreshCalls, 0);
    assert.notEqual(storedToken(r), token.reveal());
  });

  it('recovers from a crash-lost token by itself with a stored password', async () => {
    const r = rig({ record: { rememberPassword: true } });
    r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
    const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    r.records.record.refreshIntent = {
      tokenFingerprint: token.fingerprint(),
      startedAt: 0,
      state: 'in-flight',
    };
    r.auth.issued.find((e) => e.token === token.reveal())!.used = true;
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.auth.signInCalls, 1);
    assert.equal(r.auth.refreshCalls, 0, 'the suspect token was not sent again');
  });
});

describe('Keeper: transient failures', () => {
  it('a consumer asking during a short backoff waits for the scheduled attempt instead of failing', async () => {
    const r = rig({ options: { backoff: { minMs: 2000, maxMs: 2000, factor: 1, jitter: 0 } } });
    r.auth.failures.refresh.push(new TransientError('network', 'connect ECONNREFUSED'));
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'retrying');
    const calls = r.auth.refreshCalls;
    let answered = false;
    const pending = r.keeper.getAccessToken().finally(() => (answered = true));
    await settle();
    assert.equal(answered, false, 'waits for the attempt');
    assert.equal(r.auth.refreshCalls, calls, 'the waiter did not trigger an attempt of its own');
    await r.clock.advance(2000);
    const view = await pending;
    assert.ok(view.expiresAt > r.clock.now());
    assert.equal(r.auth.refreshCalls, calls + 1, 'one attempt: the scheduled one');
  });

  it('the waiting consumer gets the failure if the scheduled attempt fails too, and a far retry fails at once', async () => {
    const r = rig({
      options: { retryWaitMs: 5000, backoff: { minMs: 2000, maxMs: 2000 * 8, factor: 8, jitter: 0 } },
    });
    r.auth.failures.refresh.push(new TransientError('network', 'one'), new TransientError('network', 'two'));
    await r.keeper.start();
    const failed = assert.rejects(r.keeper.getAccessToken(), UpstreamUnavailableError);
    await r.clock.advance(2000);
    await failed;
    // Next attempt 16 s away, beyond the 5 s wait: no waiting.
    assert.equal(r.keeper.state.type, 'retrying');
    await assert.rejects(r.keeper.getAccessToken(), UpstreamUnavailableError);
  });

  it('backs off exponentially with a cap, keeps the token, and recovers', async () => {
    const r = rig({ options: { backoff: { minMs: 1000, maxMs: 8000, factor: 2, jitter: 0 } } });
    await r.keeper.start();
    const token = storedToken(r);
    for (let i = 0; i < 6; i++)
      r.auth.failures.refresh.push(new TransientError('server', 'PikPak answered 502'));
    const view = await r.keeper.refreshNow(); // the held access token is still valid
    assert.ok(view.expiresAt > r.clock.now());
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      assert.equal(r.keeper.state.type, 'retrying');
      assert.equal(storedToken(r), token, 'a transient failure never discards the refresh token');
      const s = r.keeper.state;
      delays.push(s.type === 'retrying' ? s.nextAttemptAt - r.clock.now() : -1);
      await r.clock.runNext();
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(r.keeper.state.type, 'healthy');
    assert.notEqual(storedToken(r), token);
  });

  it('serves the still-valid token while retrying, and says when it will try again once it expired', async () => {
    const r = rig({
      options: {
        refreshMarginMs: 10_000,
        jitterFraction: 0,
        backoff: { minMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 },
      },
    });
    await r.keeper.start();
    r.auth.failures.refresh.push(new TransientError('network', 'connect ECONNREFUSED'));
    await r.clock.advance(3600_000 - 10_000);
    // The proactive timer already fired and failed: we are retrying with 10 s of validity left.
    assert.equal(r.keeper.state.type, 'retrying');
    assert.equal(r.keeper.health(), 'warn');
    const view = await r.keeper.getAccessToken();
    assert.equal(view.accessToken.reveal(), 'at-2');
    await r.clock.advance(10_000);
    assert.equal(r.keeper.health(), 'error', 'expired and no refresh possible yet');
    await assert.rejects(r.keeper.getAccessToken(), UpstreamUnavailableError);
  });

  it('honours a rate limit hint as the earliest retry', async () => {
    const r = rig({ options: { backoff: { minMs: 1000, maxMs: 1000, factor: 1, jitter: 0 } } });
    await r.keeper.start();
    r.auth.failures.refresh.push(new RateLimitedError('slow down', { pikpakCode: 10, retryAfterMs: 45_000 }));
    await r.keeper.refreshNow();
    const s = r.keeper.state;
    assert.equal(s.type, 'retrying');
    assert.equal(s.type === 'retrying' && s.nextAttemptAt - r.clock.now(), 45_000);
  });

  it('waits for the keychain when it is unavailable at start-up', async () => {
    const r = rig();
    r.store.available = false;
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'retrying');
    assert.equal(r.auth.refreshCalls, 0);
    r.store.available = true;
    await r.clock.runNext();
    assert.equal(r.keeper.state.type, 'healthy');
  });
});

describe('Keeper: consumers', () => {
  it('answers a report about an old token with the current one, without refreshing', async () => {
    const r = rig();
    await r.keeper.start();
    const first = await r.keeper.getAccessToken();
    await r.clock.advance(20_000);
    await r.keeper.refreshNow();
    const calls = r.auth.refreshCalls;
    const view = await r.keeper.reportRejected(first.accessToken);
    assert.notEqual(view.accessToken.reveal(), first.accessToken.reveal());
    assert.equal(r.auth.refreshCalls, calls);
  });

  it('a report of the current token while its refresh waits for the keychain write gets the new token, not the rejected one', async () => {
    const r = rig({ options: { rejectCooldownMs: 0 } });
    await r.keeper.start();
    const current = await r.keeper.getAccessToken();
    await r.clock.advance(1000);
    r.store.holdWrites(); // the rotated token waits for the keychain, as a herd does in e2e
    const trigger = r.keeper.reportRejected(current.accessToken);
    await settle();
    assert.equal(r.keeper.state.type, 'refreshing');
    const herd = Array.from({ length: 50 }, () => r.keeper.reportRejected(current.accessToken.reveal()));
    r.store.release();
    const views = await Promise.all([trigger, ...herd]);
    assert.equal(r.auth.refreshCalls, 2, 'one at start-up, one for the reporter and the herd');
    const tokens = new Set(views.map((v) => v.accessToken.reveal()));
    assert.equal(tokens.size, 1, 'everyone got the same token');
    assert.ok(!tokens.has(current.accessToken.reveal()), 'nobody got the rejected token back');
  });

  it('reports joined to a refresh that fails get what its trigger got, with one call to PikPak', async () => {
    const r = rig({ options: { rejectCooldownMs: 0 } });
    await r.keeper.start();
    const current = await r.keeper.getAccessToken();
    await r.clock.advance(1000);
    r.auth.failures.refresh.push(new TransientError('server', 'PikPak answered 502'));
    r.auth.hold();
    const trigger = r.keeper.reportRejected(current.accessToken);
    await settle();
    const joined = Array.from({ length: 5 }, () => r.keeper.reportRejected(current.accessToken));
    r.auth.release();
    const [first, ...rest] = await Promise.all([trigger, ...joined]);
    assert.equal(r.auth.refreshCalls, 2, 'the joined reports did not call PikPak again');
    assert.equal(r.keeper.state.type, 'retrying');
    // Nothing newer exists: the still-unexpired token is all anyone can get, the trigger included.
    for (const view of rest) assert.equal(view.accessToken.reveal(), first!.accessToken.reveal());
  });

  it('refreshes when the current token is reported, but not within the cool-down', async () => {
    const r = rig({ options: { rejectCooldownMs: 10_000 } });
    await r.keeper.start();
    const current = await r.keeper.getAccessToken();
    await r.keeper.reportRejected(current.accessToken.reveal());
    assert.equal(r.auth.refreshCalls, 1, 'too soon after issue: no refresh');
    await r.clock.advance(10_000);
    const fresh = await r.keeper.reportRejected(current.accessToken.reveal());
    assert.equal(r.auth.refreshCalls, 2);
    assert.notEqual(fresh.accessToken.reveal(), current.accessToken.reveal());
  });

  it('refuses tokens when signed out or without a stored refresh token', async () => {
    const r = rig({ token: false });
    await assert.rejects(r.keeper.getAccessToken(), SignedOutError);
    await r.keeper.start();
    assert.equal(r.keeper.state.type, 'reauth-required');
    assert.equal(r.keeper.state.type === 'reauth-required' && r.keeper.state.reason, 'no-refresh-token');
  });

  it('without background refresh (a one-shot command) signs in and never refreshes by itself', async () => {
    const r = rig({ token: false, options: { backgroundRefresh: false } });
    await r.keeper.signIn({
      username: 'user@example.com',
      password: new Secret('right-password'),
      platform: 'android',
      deviceId: 'dev-1',
      rememberPassword: true,
    });
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.clock.pendingTimers, 0, 'no refresh timer is armed');
    await r.clock.advance(2 * 3600_000);
    assert.equal(r.auth.refreshCalls, 0, 'the token is left for the daemon to refresh');
    assert.ok(storedToken(r));
  });

  it('signs in, remembers the password only when asked, and signs out completely', async () => {
    const r = rig({ token: false });
    await r.keeper.signIn({
      username: 'user@example.com',
      password: new Secret('right-password'),
      platform: 'android',
      deviceId: 'dev-1',
      rememberPassword: false,
    });
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.store.entries.has(`${ACCOUNT}/password`), false);
    assert.ok(storedToken(r));
    await assert.rejects(
      r.keeper.signIn({
        username: 'user@example.com',
        password: new Secret('wrong'),
        platform: 'android',
        deviceId: 'dev-1',
        rememberPassword: true,
      }),
      /wrong password/,
    );
    assert.equal(r.keeper.state.type, 'healthy', 'a failed re-login leaves the healthy session alone');
    assert.equal(r.store.entries.has(`${ACCOUNT}/password`), false, 'a rejected password is not stored');
    await r.keeper.signOut();
    assert.equal(r.keeper.state.type, 'signed-out');
    assert.equal(r.store.entries.size, 0);
    assert.equal(r.clock.pendingTimers, 0);
  });

  it('stop() lets an in-flight refresh finish and persist', async () => {
    const r = rig();
    await r.keeper.start();
    r.auth.hold();
    const refresh = r.keeper.refreshNow();
    await settle();
    const stopped = r.keeper.stop();
    r.auth.release();
    await stopped;
    await refresh;
    assert.equal(storedToken(r), r.auth.issued.at(-1)!.token);
    assert.equal(r.clock.pendingTimers, 0, 'no proactive refresh scheduled after stop');
  });
});

describe('Keeper: a restart does what the same run would have done (refresh intent states)', () => {
  const server503 = () =>
    new TransientError('server', 'PikPak answered the token refresh with HTTP 503', { httpStatus: 503 });
  const rateLimited = () =>
    new RateLimitedError('PikPak is rate limiting the token refresh (HTTP 429)', { httpStatus: 429 });
  const refused = () =>
    new TransientError('network', 'Could not reach PikPak for the token refresh: ECONNREFUSED', {
      delivery: 'not-sent',
    });
  const timeout = () =>
    new TransientError('timeout', 'PikPak did not answer the token refresh within 15000 ms');
  const reset = () =>
    new TransientError('network', 'Could not reach PikPak for the token refresh: ECONNRESET');

  /** A second process: same keychain, settings file and PikPak; a fresh keeper. */
  function reboot(r: Rig): Keeper {
    return new Keeper({
      account: ACCOUNT,
      records: r.records,
      vault: new Vault(r.store, silentLogger),
      auth: r.auth,
      clock: r.clock,
      random: seededRandom(5),
      log: silentLogger,
    });
  }

  const cases = [
    { name: 'an upstream 503', error: server503, state: 'answered-transient' },
    { name: 'a 429', error: rateLimited, state: 'answered-transient' },
    { name: 'a refused connection', error: refused, state: 'not-sent' },
    { name: 'a timeout PikPak never acted on', error: timeout, state: 'outcome-unknown' },
    { name: 'a reset PikPak never acted on', error: reset, state: 'outcome-unknown' },
  ] as const;
  for (const c of cases)
    for (const password of [false, true])
      for (const stop of ['graceful stop', 'kill -9'] as const)
        it(`${stop} during the back-off after ${c.name} (${c.state}), ${password ? 'stored password' : 'no password'}: healthy without a sign-in, the token presented once`, async () => {
          const r = rig({ record: { rememberPassword: password } });
          if (password) r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
          const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
          // Write-ahead: the outcome is on disk before the back-off begins.
          let stateWhenRetrying: string | undefined;
          r.keeper.on('state', (s) => {
            if (s.type === 'retrying') stateWhenRetrying = r.records.record.refreshIntent?.state;
          });
          r.auth.failures.refresh.push(c.error());
          const startedAt = r.clock.now();
          await r.keeper.start();
          assert.equal(r.keeper.state.type, 'retrying');
          assert.equal(stateWhenRetrying, c.state, 'recorded before the back-off started');
          assert.deepEqual(r.records.record.refreshIntent, {
            tokenFingerprint: token.fingerprint(),
            startedAt,
            state: c.state,
          });
          if (stop === 'graceful stop') await r.keeper.stop();
          r.keeper.removeAllListeners();

          const again = reboot(r);
          await again.start();
          assert.equal(again.state.type, 'healthy', again.describe());
          assert.equal(r.auth.signInCalls, 0, 'no sign-in');
          assert.equal(r.auth.invalidGrantCount, 0, 'no invalid_grant');
          assert.equal(r.auth.refreshCalls, 2);
          const entry = r.auth.issued.find((e) => e.token === token.reveal())!;
          assert.equal(entry.presentations, 1, 'PikPak saw the token once');
          assert.equal(r.records.record.refreshIntent, undefined, 'the intent is settled');
          assert.notEqual(storedToken(r), token.reveal(), 'the rotated token is in the keychain');
          await again.stop();
        });

  for (const password of [false, true])
    it(`a timeout after PikPak rotated (outcome-unknown), restart, ${password ? 'stored password' : 'no password'}: retried with the same token like the run would; invalid_grant then ${password ? 'signs in by itself' : 'asks for a sign-in and says the answer was lost'}`, async () => {
      const r = rig({ record: { rememberPassword: password } });
      if (password) r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
      const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
      r.auth.lostAnswers = { count: 1, error: timeout() };
      await r.keeper.start();
      assert.equal(r.keeper.state.type, 'retrying');
      assert.equal(r.records.record.refreshIntent?.state, 'outcome-unknown');
      await r.keeper.stop();
      r.keeper.removeAllListeners();

      const again = reboot(r);
      await again.start();
      assert.equal(r.auth.refreshCalls, 2, 'the same token was tried once more, as within a run');
      assert.equal(r.auth.invalidGrantCount, 1);
      assert.equal(r.auth.issued.find((e) => e.token === token.reveal())!.presentations, 2);
      if (password) {
        assert.equal(again.state.type, 'healthy');
        assert.equal(r.auth.signInCalls, 1);
      } else {
        const state = again.state;
        assert.equal(state.type === 'reauth-required' && state.reason, 'invalid-grant');
        assert.match(
          state.type === 'reauth-required' ? state.message : '',
          /got no answer \(timeout or dropped connection\)/,
        );
        assert.equal(r.records.record.reauth?.deadTokenFingerprint, token.fingerprint());
        // And never again: the next start spends nothing on it.
        const third = reboot(r);
        await third.start();
        assert.equal(third.state.type, 'reauth-required');
        assert.equal(r.auth.refreshCalls, 2);
        await third.stop();
      }
      await again.stop();
    });

  for (const password of [false, true])
    it(`a run that died mid-call (in-flight), ${password ? 'stored password' : 'no password'}: the token is never sent again`, async () => {
      const r = rig({ record: { rememberPassword: password } });
      if (password) r.store.entries.set(`${ACCOUNT}/password`, new Secret('right-password'));
      const token = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
      r.auth.hold();
      void r.keeper.start();
      await settle();
      assert.equal(r.records.record.refreshIntent?.state, 'in-flight', 'written before the call went out');
      assert.equal(r.auth.refreshCalls, 1);
      // kill -9 here: PikPak handles the call, the answer dies with the process.
      r.keeper.removeAllListeners();
      const calls = r.auth.refreshCalls;

      const again = reboot(r);
      await again.start();
      assert.equal(r.auth.refreshCalls, calls, 'not sent again');
      if (password) assert.equal(again.state.type, 'healthy');
      else assert.equal(again.state.type === 'reauth-required' && again.state.reason, 'rotated-during-crash');
      assert.ok(r.auth.issued.find((e) => e.token === token.reveal())!.presentations <= 1);
      r.auth.release();
      await again.stop();
    });

  it('a lost answer taints the token until it is replaced: a later 503 does not make it "unspent"', async () => {
    const r = rig({ options: { backoff: { minMs: 1000, maxMs: 1000, factor: 1, jitter: 0 } } });
    r.auth.failures.refresh.push(server503(), timeout(), server503());
    await r.keeper.start();
    assert.equal(r.records.record.refreshIntent?.state, 'answered-transient');
    await r.clock.runNext();
    await settle();
    assert.equal(r.records.record.refreshIntent?.state, 'outcome-unknown');
    await r.clock.runNext();
    await settle();
    assert.equal(r.keeper.state.type, 'retrying');
    assert.equal(
      r.records.record.refreshIntent?.state,
      'outcome-unknown',
      'still: the timed-out call may have rotated',
    );
    await r.clock.runNext();
    await settle();
    assert.equal(r.keeper.state.type, 'healthy');
    assert.equal(r.records.record.refreshIntent, undefined);
  });

  it('while the newest token waits for the keychain, a failed refresh of it leaves the intent naming the spent one as rotated-unsaved', async () => {
    const r = rig();
    const first = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    await r.keeper.start();
    r.store.available = false;
    await r.keeper.refreshNow();
    const spent = r.store.entries.get(`${ACCOUNT}/refresh-token`)!;
    assert.notEqual(spent.reveal(), first.reveal());
    assert.deepEqual(
      { fp: r.records.record.refreshIntent?.tokenFingerprint, state: r.records.record.refreshIntent?.state },
      { fp: spent.fingerprint(), state: 'rotated-unsaved' },
    );
    r.auth.failures.refresh.push(server503());
    await r.keeper.refreshNow().catch(() => undefined);
    assert.equal(r.records.record.refreshIntent?.tokenFingerprint, spent.fingerprint());
    assert.equal(r.records.record.refreshIntent?.state, 'rotated-unsaved');
    r.keeper.removeAllListeners();
    r.store.available = true;

    const again = reboot(r);
    await again.start();
    const state = again.state;
    assert.equal(state.type === 'reauth-required' && state.reason, 'unsaved-when-stopped');
    assert.match(
      state.type === 'reauth-required' ? state.message : '',
      /only in memory because the keychain was locked/,
    );
    await again.stop();
  });
});
