import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransientError } from '../pikpak/errors/index.js';
import { INVALID_GRANT_DESCRIPTION, PRESETS } from '../pikpak/protocol.js';
import { InvalidGrantError } from '../pikpak/errors/index.js';
import { answerPikPakAuthCall } from './pikpak-compat.js';
import { call } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const android = PRESETS.android;

describe('token service: PikPak-compatible /v1/auth/token and /v1/auth/signin', () => {
  let rig: Rig;
  let single: string;
  let multi: string;
  before(async () => {
    rig = await startRig({ accounts: ['main', 'second'] });
    single = await rig.addClient('alist', ['main']);
    multi = await rig.addClient('both', ['main', 'second']);
  });
  after(() => rig.stop());

  const current = async (account = 'main') => (await rig.broker.getAccessToken(account)).accessToken.reveal();

  it('refresh with a JSON body answers PikPak’s shape; the surrogate works on the next call', async () => {
    const res = await call(rig.target, `/v1/auth/token?client_id=${android.clientId}`, {
      body: {
        client_id: android.clientId,
        client_secret: android.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: single,
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'sub',
      'token_type',
    ]);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.access_token, await current());
    assert.equal(res.json.expires_in, 3600);
    assert.equal(res.json.sub, 'user-1');
    const surrogate = res.json.refresh_token as string;
    assert.equal(surrogate, `${single}.main`);
    assert.ok(!surrogate.includes('rt-'), 'never the real refresh token');

    const next = await call(rig.target, '/v1/auth/token', {
      body: { client_id: android.clientId, grant_type: 'refresh_token', refresh_token: surrogate },
    });
    assert.equal(next.status, 200);
    assert.equal(next.json.refresh_token, surrogate, 'stable');
    assert.equal(next.json.access_token, await current());
  });

  it('refresh with a form body (golang.org/x/oauth2) works the same', async () => {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: single,
      client_id: android.clientId,
      client_secret: android.clientSecret,
    }).toString();
    const res = await call(rig.target, '/v1/auth/token', { body, headers: FORM });
    assert.equal(res.status, 200);
    assert.equal(res.json.access_token, await current());
    assert.equal(res.json.refresh_token, `${single}.main`);
    const next = await call(rig.target, '/v1/auth/token', {
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: res.json.refresh_token,
      }).toString(),
      headers: FORM,
    });
    assert.equal(next.status, 200);
  });

  it('signin with the client secret as password picks the account by PikPak username', async () => {
    const res = await call(rig.target, '/v1/auth/signin', {
      body: {
        client_id: android.clientId,
        client_secret: android.clientSecret,
        captcha_token: 'ck',
        username: 'second@example.com',
        password: multi,
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.access_token, await current('second'));
    assert.equal(res.json.refresh_token, `${multi}.second`);
    const next = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: res.json.refresh_token },
    });
    assert.equal(next.status, 200);
    assert.equal(next.json.access_token, await current('second'));

    const form = await call(rig.target, '/v1/auth/signin', {
      body: new URLSearchParams({ username: 'user@example.com', password: multi }).toString(),
      headers: FORM,
    });
    assert.equal(form.status, 200);
    assert.equal(form.json.refresh_token, `${multi}.main`);
  });

  it('a Bearer header stands in for the secret when the body has none', async () => {
    const res = await call(rig.target, '/v1/auth/token', {
      bearer: single,
      body: { grant_type: 'refresh_token' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.refresh_token, `${single}.main`);
  });

  it('an unknown or revoked secret is invalid_grant / 4126 (AList stops instead of looping)', async () => {
    const doomed = await rig.addClient('doomed', ['main']);
    const first = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: doomed },
    });
    assert.equal(first.status, 200);
    await rig.clients.revoke('doomed');
    for (const refresh_token of [doomed, first.json.refresh_token, 'pkb_nope', 'rt-1']) {
      const res = await call(rig.target, '/v1/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token },
      });
      assert.equal(res.status, 400);
      assert.equal(res.json.error, 'invalid_grant');
      assert.equal(res.json.error_code, 4126);
      assert.match(res.json.error_description, /pikpak-token-broker: unknown or revoked client secret/);
    }
    const signin = await call(rig.target, '/v1/auth/signin', {
      body: { username: 'user@example.com', password: doomed },
    });
    assert.equal(signin.status, 400);
    assert.equal(signin.json.error_code, 4126);
  });

  it('the admin credential is refused here', async () => {
    const res = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: rig.adminToken },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error_code, 4126);
    assert.match(res.json.error_description, /admin credential is not accepted/);
  });

  it('a client scoped to several accounts must say which: 400 with a clear description', async () => {
    const res = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: multi },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_argument');
    assert.match(res.json.error_description, /several accounts.*<client secret>\.<account>/);
    const picked = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: `${multi}.second` },
    });
    assert.equal(picked.status, 200);
    assert.equal(picked.json.access_token, await current('second'));
  });

  it('an account outside the client’s scope or unknown username is refused', async () => {
    const other = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: `${single}.second` },
    });
    assert.equal(other.status, 400);
    assert.equal(other.json.error_code, 4126);
    assert.match(other.json.error_description, /may not use account "second"/);
    const signin = await call(rig.target, '/v1/auth/signin', {
      body: { username: 'second@example.com', password: single },
    });
    assert.equal(signin.status, 400);
    assert.equal(signin.json.error, 'invalid_account_or_password');
  });

  it('bad requests: wrong grant type, missing token, unparsable JSON', async () => {
    const grant = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'password', refresh_token: single },
    });
    assert.equal(grant.status, 400);
    assert.equal(grant.json.error, 'unsupported_grant_type');
    const missing = await call(rig.target, '/v1/auth/token', { body: { grant_type: 'refresh_token' } });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error, 'invalid_argument');
    const broken = await call(rig.target, '/v1/auth/token', {
      body: '{"grant_type":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.error, 'invalid_argument');
    const get = await call(rig.target, '/v1/auth/token');
    assert.equal(get.status, 405);
  });

  it('upstream unavailable is a 503 with a PikPak-like body and Retry-After', async () => {
    // PikPak is down from now on: the proactive refresh and its retries fail, the token expires.
    for (let i = 0; i < 100; i++)
      rig.auth.failures.refresh.push(
        new TransientError('network', 'PikPak cannot be reached (ECONNREFUSED)'),
      );
    await rig.clock.advance(3601_000);
    assert.equal(rig.broker.account('main').state.type, 'retrying');
    const res = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: single },
    });
    assert.equal(res.status, 503);
    assert.equal(res.json.error, 'unavailable');
    assert.equal(typeof res.json.error_code, 'number');
    assert.match(res.json.error_description, /PikPak cannot be reached/);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    const plain = await call(rig.target, '/v1/accounts/main/token', { bearer: single });
    assert.equal(plain.status, 503);
    assert.equal(plain.json.error.code, 'upstream_unavailable');
    assert.ok(Number(plain.headers['retry-after']) >= 1);
    assert.ok(plain.json.error.retry_at);
    rig.auth.failures.refresh.length = 0; // PikPak is back
    const state = rig.broker.account('main').state;
    assert.equal(state.type, 'retrying');
    await rig.clock.advance(Math.ceil(state.nextAttemptAt - rig.clock.now()));
    assert.equal((await call(rig.target, '/v1/accounts/main/token', { bearer: single })).status, 200);
  });

  it('an account that needs a new sign-in in the broker is 4126 naming the broker and what to do', async () => {
    rig.auth.failures.refresh.push(
      new InvalidGrantError(`PikPak rejected the refresh token: ${INVALID_GRANT_DESCRIPTION}`),
    );
    await rig.broker
      .keeper('main')
      .refreshNow()
      .catch(() => undefined);
    assert.equal(rig.broker.account('main').state.type, 'reauth-required');
    const res = await call(rig.target, '/v1/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: single },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error, 'invalid_grant');
    assert.equal(res.json.error_code, 4126);
    assert.match(
      res.json.error_description,
      /^pikpak-token-broker: account "main" needs a new sign-in in the broker/,
    );
    assert.match(res.json.error_description, /pikpak-token-broker login --account main/);
  });
});

describe('answerPikPakAuthCall (transport-independent, as the AList bridge calls it)', () => {
  let rig: Rig;
  let secret: string;
  before(async () => {
    rig = await startRig();
    secret = await rig.addClient('bridge', ['main']);
  });
  after(() => rig.stop());

  const deps = () => ({ broker: rig.broker, clients: rig.clients, now: () => rig.clock.now(), log: rig.log });

  it('answers an intercepted call with the path and query PikPak uses', async () => {
    const answer = await answerPikPakAuthCall(
      {
        path: `/v1/auth/token?client_id=${android.clientId}`,
        contentType: 'application/json; charset=utf-8',
        rawBody: Buffer.from(JSON.stringify({ grant_type: 'refresh_token', refresh_token: secret })),
      },
      deps(),
    );
    assert.equal(answer.status, 200);
    assert.equal('access_token' in answer.body && answer.body.refresh_token, `${secret}.main`);
  });

  it('reads a form body without a content type', async () => {
    const answer = await answerPikPakAuthCall(
      {
        path: '/v1/auth/token',
        contentType: undefined,
        rawBody: `grant_type=refresh_token&refresh_token=${secret}`,
      },
      deps(),
    );
    assert.equal(answer.status, 200);
  });

  it('answers other paths with a PikPak-shaped 404', async () => {
    const answer = await answerPikPakAuthCall(
      { path: '/v1/shield/captcha/init', contentType: 'application/json', rawBody: '{}' },
      deps(),
    );
    assert.equal(answer.status, 404);
    assert.equal('error' in answer.body && answer.body.error, 'not_found');
  });

  it('never throws: a broker failure becomes a PikPak-shaped 500 and a log line', async () => {
    const broken = {
      ...deps(),
      broker: {
        accounts: () => rig.broker.accounts(),
        getAccessToken: () => Promise.reject(new Error('boom')),
      },
    };
    const answer = await answerPikPakAuthCall(
      {
        path: '/v1/auth/token',
        contentType: 'application/json',
        rawBody: JSON.stringify({ grant_type: 'refresh_token', refresh_token: secret }),
      },
      broken,
    );
    assert.equal(answer.status, 500);
    assert.equal('error' in answer.body && answer.body.error, 'internal');
    assert.ok(rig.log.text().includes('boom'));
  });
});
