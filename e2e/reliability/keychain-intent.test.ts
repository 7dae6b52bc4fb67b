/**
 * The keeper across a restart after the keychain refused rotated tokens (fake keychain, fake
 * PikPak with strict single-use rotation, fake clock): the keychain then still holds a token
 * PikPak has already replaced, and the restarted keeper must never send it — it signs in again
 * with the stored password, or asks for a sign-in — while a token that did reach the keychain
 * later is resumed as usual. The end-to-end version is keychain-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keeper, type AccountRecordStore } from '../../main/core/keeper.js';
import type { AccountRecord, Logger } from '../../main/core/ports.js';
import { Secret } from '../../main/core/secret.js';
import { FakeAuth } from '../../main/core/testing/fake-auth.js';
import { FakeClock, seededRandom, settle } from '../../main/core/testing/fake-clock.js';
import { FakeSecretStore } from '../../main/core/testing/fake-secret-store.js';
import { Vault } from '../../main/core/vault.js';

const ACCOUNT = 'main';
const USER = 'user@example.com';
const PASSWORD = 'right-password';

class Records implements AccountRecordStore {
  record: AccountRecord;
  constructor(rememberPassword: boolean) {
    this.record = {
      name: ACCOUNT,
      username: USER,
      platform: 'android',
      deviceId: 'dev-1',
      rememberPassword,
      createdAt: 0,
    };
  }
  get(name: string): AccountRecord | undefined {
    return name === ACCOUNT ? this.record : undefined;
  }
  async update(_name: string, patch: Partial<AccountRecord>): Promise<void> {
    // Like the broker's: undefined removes a field.
    const next: Record<string, unknown> = { ...this.record, ...patch };
    for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
    this.record = next as unknown as AccountRecord;
  }
}

function captureLog(): Logger & { text(): string } {
  const lines: string[] = [];
  const at = (level: string) => (fields: object, msg?: string) =>
    void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(fields)}`);
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.join('\n'),
  };
}

/** One process's keeper; the store, PikPak and the records outlive it, like the real ones. */
function world(rememberPassword: boolean) {
  const clock = new FakeClock();
  const auth = new FakeAuth();
  auth.accessTtlSec = 60;
  const store = new FakeSecretStore();
  const records = new Records(rememberPassword);
  store.entries.set(`${ACCOUNT}/refresh-token`, auth.mint());
  if (rememberPassword) store.entries.set(`${ACCOUNT}/password`, new Secret(PASSWORD));
  const boot = () => {
    const log = captureLog();
    const keeper = new Keeper({
      account: ACCOUNT,
      records,
      vault: new Vault(store, log),
      auth,
      clock,
      random: seededRandom(3),
      log,
      options: { keychainRetryMs: 5_000 },
    });
    return { keeper, log };
  };
  const stored = () => store.entries.get(`${ACCOUNT}/refresh-token`)?.reveal();
  const isSpent = (token: string | undefined) => auth.issued.find((e) => e.token === token)?.used;
  return { clock, auth, store, records, boot, stored, isSpent };
}

describe('keeper: a restart after the keychain refused rotated tokens', () => {
  for (const stop of ['graceful stop', 'kill -9'] as const) {
    it(`${stop} while locked, no stored password: the spent keychain token is never sent; a sign-in is asked for`, async () => {
      const w = world(false);
      const first = w.boot();
      await first.keeper.start();
      w.store.available = false;
      await first.keeper.refreshNow();
      await first.keeper.refreshNow();
      assert.ok(first.keeper.state.type === 'healthy' && first.keeper.state.unsaved);
      assert.equal(w.isSpent(w.stored()), true, 'the keychain holds a token PikPak has replaced');
      if (stop === 'graceful stop') {
        await first.keeper.stop();
        assert.match(
          first.log.text(),
          /^error the newest refresh token could not be saved to the keychain and is lost/m,
        );
      }
      first.keeper.removeAllListeners();
      w.store.available = true;

      const calls = w.auth.refreshCalls;
      const second = w.boot();
      await second.keeper.start();
      assert.equal(w.auth.refreshCalls, calls, 'nothing was sent');
      assert.equal(w.auth.invalidGrantCount, 0);
      const state = second.keeper.state;
      assert.equal(state.type, 'reauth-required');
      // Not "PikPak was rotating": the newest token was in memory only because of the keychain.
      assert.equal(state.type === 'reauth-required' && state.reason, 'unsaved-when-stopped');
      assert.match(
        state.type === 'reauth-required' ? state.message : '',
        /^The newest refresh token was only in memory because the keychain was locked or unavailable when the broker stopped/,
      );
      assert.doesNotMatch(state.type === 'reauth-required' ? state.message : '', /rotating/);
      assert.match(second.log.text(), /only in memory \(the keychain was locked or unavailable\)/);
      await second.keeper.stop();
    });
  }

  it('kill -9 while locked, password stored: the restart signs in again by itself, sending no spent token', async () => {
    const w = world(true);
    const first = w.boot();
    await first.keeper.start();
    w.store.available = false;
    await first.keeper.refreshNow();
    first.keeper.removeAllListeners();
    w.store.available = true;

    const calls = w.auth.refreshCalls;
    const signIns = w.auth.signInCalls;
    const second = w.boot();
    await second.keeper.start();
    assert.equal(second.keeper.state.type, 'healthy');
    assert.equal(w.auth.signInCalls, signIns + 1);
    assert.equal(w.auth.refreshCalls, calls);
    assert.equal(w.auth.invalidGrantCount, 0);
    assert.equal(w.stored(), w.auth.issued.at(-1)!.token, 'the new token is in the keychain');
    await second.keeper.stop();
  });

  it('the keychain comes back (retry timer, no rotation): the intent is settled and a restart resumes from the keychain', async () => {
    const w = world(false);
    const first = w.boot();
    await first.keeper.start();
    w.store.available = false;
    await first.keeper.refreshNow();
    assert.notEqual(w.records.record.refreshIntent, undefined, 'the spent keychain token stays named');
    w.store.available = true;
    await w.clock.advance(5_000);
    await settle();
    assert.equal(w.stored(), w.auth.issued.at(-1)!.token, 'the retry saved the newest token');
    assert.equal(w.records.record.refreshIntent, undefined, 'and settled the intent');
    assert.ok(first.keeper.state.type === 'healthy' && !first.keeper.state.unsaved);
    first.keeper.removeAllListeners();

    const signIns = w.auth.signInCalls;
    const second = w.boot();
    await second.keeper.start();
    assert.equal(second.keeper.state.type, 'healthy');
    assert.equal(w.auth.signInCalls, signIns, 'resumed without a sign-in');
    assert.equal(w.auth.invalidGrantCount, 0);
    await second.keeper.stop();
  });

  it('a token saved by a later rotation resumes as usual, and a stop with nothing unsaved says nothing alarming', async () => {
    const w = world(false);
    const first = w.boot();
    await first.keeper.start();
    w.store.available = false;
    await first.keeper.refreshNow();
    w.store.available = true;
    await first.keeper.refreshNow();
    assert.equal(w.records.record.refreshIntent, undefined);
    await first.keeper.stop();
    assert.doesNotMatch(first.log.text(), /is lost/);

    const second = w.boot();
    await second.keeper.start();
    assert.equal(second.keeper.state.type, 'healthy');
    assert.equal(w.auth.invalidGrantCount, 0);
    await second.keeper.stop();
  });
});
