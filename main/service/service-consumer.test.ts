import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

describe('token service: consumer endpoints over the socket', () => {
  let rig: Rig;
  let mainOnly: string;
  let everything: string;
  before(async () => {
    rig = await startRig({ accounts: ['main', 'second'] });
    mainOnly = await rig.addClient('alist', ['main']);
    everything = await rig.addClient('scripts', ['*']);
  });
  after(() => rig.stop());

  it('GET /v1/health needs no secret and names no user, account or token', async () => {
    const res = await call(rig.target, '/v1/health');
    assert.equal(res.status, 200);
    assert.equal(res.json.service, 'pikpak-token-broker');
    assert.equal(res.json.health, 'ok');
    assert.equal(res.json.accounts.total, 2);
    assert.equal(res.json.accounts.ok, 2);
    for (const leak of ['user@example.com', 'main', 'second', 'at-', 'rt-', 'dev'])
      assert.ok(!res.text.includes(leak), `health must not mention ${leak}: ${res.text}`);
  });

  it('GET /v1/accounts lists only the accounts the client may use', async () => {
    const one = await call(rig.target, '/v1/accounts', { bearer: mainOnly });
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.json.map((a: { name: string }) => a.name),
      ['main'],
    );
    const a = one.json[0];
    assert.equal(a.health, 'ok');
    assert.equal(a.state, 'healthy');
    assert.equal(a.platform, 'android');
    assert.equal(a.user_id, 'user-1');
    assert.match(a.device_id, /^[0-9a-f]{32}$/);
    assert.equal(a.expires_at, new Date(rig.clock.now() + 3600_000).toISOString());
    assert.match(a.description, /healthy/);
    assert.equal(a.username, undefined, 'consumers do not get the PikPak username');
    const all = await call(rig.target, '/v1/accounts', { bearer: everything });
    assert.deepEqual(
      all.json.map((x: { name: string }) => x.name),
      ['main', 'second'],
    );
  });

  it('GET /v1/accounts/{name}/token answers the current access token', async () => {
    const res = await call(rig.target, '/v1/accounts/main/token', { bearer: mainOnly });
    assert.equal(res.status, 200);
    const view = await rig.broker.getAccessToken('main');
    assert.deepEqual(res.json, {
      account: 'main',
      access_token: view.accessToken.reveal(),
      token_type: 'Bearer',
      expires_at: new Date(view.expiresAt).toISOString(),
      expires_in: 3600,
      user_id: 'user-1',
      device_id: view.deviceId,
    });
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    await rig.clock.advance(1500);
    const later = await call(rig.target, '/v1/accounts/main/token', { bearer: mainOnly });
    assert.equal(later.json.expires_in, 3598, 'whole seconds left, rounded down');
  });

  it('the admin credential may fetch any token', async () => {
    const res = await call(rig.target, '/v1/accounts/second/token', { bearer: rig.adminToken });
    assert.equal(res.status, 200);
    assert.equal(res.json.account, 'second');
  });

  it('POST /v1/accounts/{name}/token/rejected refreshes only for the current token', async () => {
    const before = rig.auth.refreshCalls;
    const current = (await rig.broker.getAccessToken('main')).accessToken.reveal();
    const old = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: { access_token: 'at-old-token' },
    });
    assert.equal(old.status, 200);
    assert.equal(old.json.access_token, current, 'an old token just gets the current one back');
    assert.equal(rig.auth.refreshCalls, before);

    await rig.clock.advance(20_000); // past the keeper's rejection cool-down
    const fresh = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: { access_token: current },
    });
    assert.equal(fresh.status, 200);
    assert.notEqual(fresh.json.access_token, current);
    assert.equal(rig.auth.refreshCalls, before + 1);
  });

  it('token/rejected needs a JSON body with access_token', async () => {
    const none = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      method: 'POST',
    });
    assert.equal(none.status, 400);
    assert.equal(none.json.error.code, 'bad_request');
    const missing = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: {},
    });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, 'bad_request');
    const malformed = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: '{"access_token": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.code, 'invalid_json');
    assert.ok(!malformed.text.includes('access_token'), 'the body is never echoed');
    const array = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: '[1]',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(array.status, 400);
    assert.equal(array.json.error.code, 'invalid_json');
    const form = await call(rig.target, '/v1/accounts/main/token/rejected', {
      bearer: mainOnly,
      body: 'access_token=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 415);
    assert.equal(form.json.error.code, 'unsupported_media_type');
  });

  it('missing, wrong and revoked secrets all get the same 401', async () => {
    const doomed = await rig.addClient('doomed', ['main']);
    const ok = await call(rig.target, '/v1/accounts/main/token', { bearer: doomed });
    assert.equal(ok.status, 200);
    await rig.clients.revoke('doomed');
    const answers = [
      await call(rig.target, '/v1/accounts/main/token'),
      await call(rig.target, '/v1/accounts/main/token', { bearer: 'pkb_wrong' }),
      await call(rig.target, '/v1/accounts/main/token', { bearer: doomed }),
      await call(rig.target, '/v1/accounts/main/token', { headers: { authorization: `Basic ${doomed}` } }),
    ];
    for (const res of answers) {
      assert.equal(res.status, 401);
      assert.equal(res.text, answers[0]!.text, 'identical bodies');
      assert.equal(res.json.error.code, 'unauthorized');
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="pikpak-token-broker"');
    }
    for (const path of ['/v1/accounts', '/v1/events', '/v1/accounts/main/token/rejected'])
      assert.equal(
        (await call(rig.target, path, { method: path.endsWith('rejected') ? 'POST' : 'GET' })).status,
        401,
      );
  });

  it('a client not scoped to an account gets 403, even for an account that does not exist', async () => {
    const other = await call(rig.target, '/v1/accounts/second/token', { bearer: mainOnly });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'forbidden');
    const unknown = await call(rig.target, '/v1/accounts/nope/token', { bearer: mainOnly });
    assert.equal(unknown.status, 403, 'scoped clients cannot probe which accounts exist');
    const rejected = await call(rig.target, '/v1/accounts/second/token/rejected', {
      bearer: mainOnly,
      body: { access_token: 'x' },
    });
    assert.equal(rejected.status, 403);
  });

  it('an unknown account is 404 account_not_found', async () => {
    const res = await call(rig.target, '/v1/accounts/nope/token', { bearer: everything });
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'account_not_found');
    const admin = await call(rig.target, '/v1/accounts/nope/token', { bearer: rig.adminToken });
    assert.equal(admin.status, 404);
    assert.equal(admin.json.error.code, 'account_not_found');
  });

  it('unknown paths are 404 not_found and wrong methods 405 with Allow', async () => {
    const missing = await call(rig.target, '/v1/nothing', { bearer: everything });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'not_found');
    const method = await call(rig.target, '/v1/accounts/main/token', {
      method: 'DELETE',
      bearer: everything,
    });
    assert.equal(method.status, 405);
    assert.equal(method.json.error.code, 'method_not_allowed');
    assert.equal(method.headers.allow, 'GET');
    const head = await call(rig.target, '/v1/health', { method: 'PUT' });
    assert.equal(head.status, 405);
  });

  it('the query string does not change the route', async () => {
    const res = await call(rig.target, '/v1/accounts/main/token?x=1', { bearer: mainOnly });
    assert.equal(res.status, 200);
  });
});
