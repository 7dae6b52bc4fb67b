import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { InvalidGrantError } from '../pikpak/errors/index.js';
import { call, openEvents } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

describe('token service: GET /v1/events', () => {
  let rig: Rig;
  let mainOnly: string;
  let secondOnly: string;
  before(async () => {
    rig = await startRig({ accounts: ['main', 'second'], limits: { heartbeatMs: 100, maxEventStreams: 3 } });
    mainOnly = await rig.addClient('alist', ['main']);
    secondOnly = await rig.addClient('other', ['second']);
  });
  after(() => rig.stop());

  it('starts with retry and a snapshot of the client’s accounts only', async () => {
    const stream = await openEvents(rig.target, mainOnly);
    try {
      assert.equal(stream.status, 200);
      assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
      const first = await stream.waitFor((e) => e.event === 'state');
      assert.deepEqual(first.data, {
        account: 'main',
        state: 'healthy',
        health: 'ok',
        description: first.data.description,
      });
      assert.match(stream.raw(), /^retry: \d+\n\n/);
      await sleep(50);
      assert.ok(!stream.events.some((e) => e.data.account === 'second'), 'other accounts are invisible');
      assert.ok(!stream.events.some((e) => e.event === 'keychain'), 'keychain is for the admin');
    } finally {
      stream.close();
    }
  });

  it('sends state and rotated events after POST /v1/accounts/{name}/refresh, never tokens', async () => {
    const stream = await openEvents(rig.target, mainOnly);
    const other = await openEvents(rig.target, secondOnly);
    try {
      await stream.waitFor((e) => e.event === 'state');
      const res = await call(rig.target, '/v1/accounts/main/refresh', {
        method: 'POST',
        bearer: rig.adminToken,
      });
      assert.equal(res.status, 200);
      const refreshing = await stream.waitFor((e) => e.event === 'state' && e.data.state === 'refreshing');
      const healthy = await stream.waitFor(
        (e) =>
          e.event === 'state' &&
          e.data.state === 'healthy' &&
          stream.events.indexOf(e) > stream.events.indexOf(refreshing),
      );
      assert.equal(healthy.data.health, 'ok');
      const rotated = await stream.waitFor((e) => e.event === 'rotated');
      assert.deepEqual(rotated.data, {
        account: 'main',
        at: new Date(rig.clock.now()).toISOString(),
        expires_at: res.json.expires_at,
        via: 'refresh',
      });
      const token = (await rig.broker.getAccessToken('main')).accessToken.reveal();
      assert.ok(!stream.raw().includes(token), 'no access token in events');
      assert.ok(!stream.raw().includes('rt-'), 'no refresh token in events');
      await sleep(50);
      assert.ok(!other.events.some((e) => e.data.account === 'main'), 'filtered to the client’s accounts');
    } finally {
      stream.close();
      other.close();
    }
  });

  it('sends reauth-required when PikPak rejects the refresh token', async () => {
    const stream = await openEvents(rig.target, mainOnly);
    try {
      await stream.waitFor((e) => e.event === 'state');
      rig.auth.failures.refresh.push(new InvalidGrantError('PikPak rejected the refresh token (4126)'));
      const res = await call(rig.target, '/v1/accounts/main/refresh', {
        method: 'POST',
        bearer: rig.adminToken,
      });
      assert.equal(res.status, 409);
      assert.equal(res.json.error.code, 'reauth_required');
      assert.equal(res.json.error.reason, 'invalid-grant');
      const reauth = await stream.waitFor((e) => e.event === 'reauth-required');
      assert.equal(reauth.data.account, 'main');
      assert.equal(reauth.data.reason, 'invalid-grant');
      assert.match(reauth.data.message, /Sign in again/);
      const token = await call(rig.target, '/v1/accounts/main/token', { bearer: mainOnly });
      assert.equal(token.status, 409);
      assert.equal(token.json.error.code, 'reauth_required');
      assert.equal(token.json.error.account, 'main');
      const state = await stream.waitFor((e) => e.event === 'state' && e.data.state === 'reauth-required');
      assert.equal(state.data.health, 'error');
    } finally {
      stream.close();
    }
  });

  it('the admin stream sees every account and the keychain', async () => {
    const stream = await openEvents(rig.target, rig.adminToken);
    try {
      await stream.waitFor((e) => e.event === 'state' && e.data.account === 'second');
      const keychain = await stream.waitFor((e) => e.event === 'keychain');
      assert.deepEqual(keychain.data, { available: true, problem: null });
    } finally {
      stream.close();
    }
  });

  it('sends heartbeat comments and drops closed streams from the broker’s listeners', async () => {
    const listeners = rig.broker.listenerCount('account-state');
    const stream = await openEvents(rig.target, mainOnly);
    await sleep(350);
    assert.match(stream.raw(), /\n: ping\n\n/);
    stream.close();
    await sleep(50);
    assert.equal(
      rig.broker.listenerCount('account-state'),
      listeners,
      'one hub subscription, not one per stream',
    );
  });

  it('bounds the number of streams (503 too_many_streams)', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => openEvents(rig.target, mainOnly)));
    try {
      const fourth = await call(rig.target, '/v1/events', { bearer: mainOnly });
      assert.equal(fourth.status, 503);
      assert.equal(fourth.json.error.code, 'too_many_streams');
    } finally {
      for (const s of streams) s.close();
    }
    await sleep(50);
    const again = await openEvents(rig.target, mainOnly);
    assert.equal(again.status, 200);
    again.close();
  });

  it('caps the streams of one client (429, Retry-After) without touching the others', async () => {
    const own = await startRig({ limits: { maxEventStreams: 10, maxEventStreamsPerClient: 2 } });
    const greedy = await own.addClient('greedy', ['main']);
    const other = await own.addClient('other', ['main']);
    const open: { close(): void }[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = await openEvents(own.target, greedy);
        assert.equal(s.status, 200);
        open.push(s);
      }
      const third = await call(own.target, '/v1/events', { bearer: greedy });
      assert.equal(third.status, 429, third.text);
      assert.equal(third.json.error.code, 'too_many_streams_for_client');
      assert.ok(Number(third.headers['retry-after']) > 0);
      for (const bearer of [other, other, own.adminToken, own.adminToken]) {
        const s = await openEvents(own.target, bearer);
        assert.equal(s.status, 200, 'other clients and the admin keep their own share');
        open.push(s);
      }
      const adminThird = await call(own.target, '/v1/events', { bearer: own.adminToken });
      assert.equal(adminThird.status, 429, 'the admin counts as one client too');
      // One of greedy's streams ends: it may open one again.
      open.shift()!.close();
      await sleep(50);
      const again = await openEvents(own.target, greedy);
      assert.equal(again.status, 200);
      open.push(again);
    } finally {
      for (const s of open) s.close();
      await own.stop();
    }
  });

  it('stays open longer than the request and idle timeouts', async () => {
    const quick = await startRig({
      limits: {
        requestTimeoutMs: 300,
        headersTimeoutMs: 200,
        keepAliveTimeoutMs: 300,
        connectionsCheckingIntervalMs: 50,
        heartbeatMs: 10_000,
      },
    });
    try {
      const secret = await quick.addClient('c', ['main']);
      const stream = await openEvents(quick.target, secret);
      let ended = false;
      void stream.ended.then(() => (ended = true));
      await sleep(900);
      assert.equal(ended, false, 'the event stream survived the timeouts');
      stream.close();
    } finally {
      await quick.stop();
    }
  });

  it('close() ends open streams and waits for them', async () => {
    const own = await startRig();
    const secret = await own.addClient('c', ['main']);
    const stream = await openEvents(own.target, secret);
    await stream.waitFor((e) => e.event === 'state');
    const started = Date.now();
    await own.service.close();
    await stream.ended;
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    await own.stop();
  });
});
