/** Token calls that arrive while the broker is still starting wait for it, within the keeper's bound. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Broker } from './broker.js';
import { UpstreamUnavailableError } from './keeper-errors.js';
import { silentLogger, type BrokerSettings } from './ports.js';
import { FakeAuth } from './testing/fake-auth.js';
import { FakeClock, seededRandom } from './testing/fake-clock.js';
import { FakeSecretStore } from './testing/fake-secret-store.js';

async function broker(retryWaitMs: number): Promise<{ broker: Broker; auth: FakeAuth; clock: FakeClock }> {
  const auth = new FakeAuth();
  const secrets = new FakeSecretStore();
  secrets.entries.set('main/refresh-token', auth.mint());
  let settings: BrokerSettings = {
    version: 1,
    accounts: [
      {
        name: 'main',
        username: 'user@example.com',
        platform: 'android',
        deviceId: 'd'.repeat(32),
        rememberPassword: false,
        createdAt: 0,
      },
    ],
  };
  const clock = new FakeClock();
  const b = await Broker.open({
    settings: {
      path: '(memory)',
      load: async () => structuredClone(settings),
      save: async (next) => void (settings = structuredClone(next)),
    },
    secrets,
    auth,
    clock,
    random: seededRandom(1),
    log: silentLogger,
    keeperOptions: { retryWaitMs },
  });
  return { broker: b, auth, clock };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Broker start-up wait', () => {
  it('a call before start() waits for start and the first refresh, then gets that token', async () => {
    const { broker: b, auth } = await broker(10_000);
    b.holdUntilStarted();
    auth.hold();
    let answered = false;
    const call = b.getAccessToken('main').then((v) => ((answered = true), v));
    await settle();
    assert.equal(answered, false, 'waits: start() has not run');
    const started = b.start();
    await settle();
    assert.equal(answered, false, 'waits: the first refresh is held');
    auth.release();
    await started;
    const view = await call;
    assert.ok(view.accessToken);
    assert.equal(auth.refreshCalls, 1, 'the call joined the start-up refresh');
  });

  it('answers UpstreamUnavailable once the bound has passed, and the next call after start gets a token', async () => {
    const { broker: b, auth, clock } = await broker(5_000);
    b.holdUntilStarted();
    auth.hold();
    const started = b.start();
    const call = b.getAccessToken('main').then(
      () => 'token',
      (e: unknown) => e,
    );
    await clock.advance(4_999);
    await settle();
    await clock.advance(1);
    const error = await call;
    assert.ok(error instanceof UpstreamUnavailableError, String(error));
    assert.match(error.message, /still starting/);
    assert.equal(error.retryAt, clock.now() + 5_000);
    auth.release();
    await started;
    assert.ok((await b.getAccessToken('main')).accessToken);
  });

  it('without holdUntilStarted a broker that is never started answers as before (no wait)', async () => {
    const { broker: b } = await broker(5_000);
    await assert.rejects(b.getAccessToken('main'), /signed out/);
  });

  it('stop() lets waiting calls go', async () => {
    const { broker: b } = await broker(60_000);
    b.holdUntilStarted();
    const call = b.getAccessToken('main').then(
      () => 'token',
      (e: unknown) => e,
    );
    await b.stop();
    const outcome = await call;
    assert.notEqual(outcome, 'token');
  });
});
