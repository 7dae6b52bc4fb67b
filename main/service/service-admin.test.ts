import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaptchaRequiredError, TransientError } from '../pikpak/errors/index.js';
import { digestHex } from './bearer.js';
import { call } from './testing/http-client.js';
import { startRig, type Rig } from './testing/service-rig.js';

describe('token service: admin endpoints', () => {
  let rig: Rig;
  let client: string;
  before(async () => {
    rig = await startRig();
    client = await rig.addClient('alist', ['*']);
  });
  after(() => rig.stop());

  const admin = (path: string, options: Parameters<typeof call>[2] = {}) =>
    call(rig.target, path, { bearer: rig.adminToken, ...options });

  it('every admin endpoint refuses a client secret with 403 and no secret with 401', async () => {
    const endpoints: [string, string, unknown?][] = [
      ['GET', '/v1/status'],
      ['POST', '/v1/admin/login', { account: 'x', username: 'u', password: 'p', platform: 'android' }],
      ['POST', '/v1/admin/logout', { account: 'main' }],
      ['POST', '/v1/accounts/main/refresh'],
      ['GET', '/v1/admin/clients'],
      ['POST', '/v1/admin/clients', { name: 'evil', accounts: ['*'] }],
      ['DELETE', '/v1/admin/clients/alist'],
    ];
    for (const [method, path, body] of endpoints) {
      const asClient = await call(rig.target, path, { method, bearer: client, body });
      assert.equal(asClient.status, 403, `${method} ${path}`);
      assert.equal(asClient.json.error.code, 'forbidden');
      const anonymous = await call(rig.target, path, { method, body });
      assert.equal(anonymous.status, 401, `${method} ${path}`);
    }
    assert.equal(rig.broker.accountNames().length, 1, 'nothing happened');
    assert.deepEqual(
      rig.clients.list().map((c) => c.name),
      ['alist'],
    );
  });

  it('GET /v1/status gives the owner the full picture', async () => {
    const res = await admin('/v1/status');
    assert.equal(res.status, 200);
    assert.equal(res.json.health, 'ok');
    assert.equal(res.json.keychain.available, true);
    assert.equal(res.json.keychain.description, 'fake keychain');
    const [a] = res.json.accounts;
    assert.equal(a.name, 'main');
    assert.equal(a.username, 'user@example.com');
    assert.equal(a.remember_password, false);
    assert.equal(a.state_detail.type, 'healthy');
    assert.equal(a.state_detail.access_expires_at, a.expires_at);
    assert.ok(!res.text.includes('at-') && !res.text.includes('rt-'), 'no tokens in status');
  });

  it('POST /v1/accounts/{name}/refresh refreshes now and answers the expiry, not the token', async () => {
    const before = rig.auth.refreshCalls;
    const res = await admin('/v1/accounts/main/refresh', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(rig.auth.refreshCalls, before + 1);
    assert.equal(res.json.account, 'main');
    assert.equal(res.json.expires_in, 3600);
    assert.equal(res.json.access_token, undefined);
    const unknown = await admin('/v1/accounts/nope/refresh', { method: 'POST' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'account_not_found');
  });

  it('client management: add (secret shown once), list (no secrets), revoke', async () => {
    const added = await admin('/v1/admin/clients', { body: { name: 'script', accounts: ['main', 'later'] } });
    assert.equal(added.status, 201);
    assert.equal(added.json.name, 'script');
    assert.deepEqual(added.json.accounts, ['main', 'later']);
    assert.deepEqual(added.json.unknown_accounts, ['later']);
    assert.match(added.json.secret, /^pkb_[A-Za-z0-9_-]{43}$/);
    const secret = added.json.secret as string;
    assert.equal((await call(rig.target, '/v1/accounts/main/token', { bearer: secret })).status, 200);

    const listed = await admin('/v1/admin/clients');
    assert.equal(listed.status, 200);
    const script = listed.json.find((c: { name: string }) => c.name === 'script');
    assert.deepEqual(Object.keys(script).sort(), ['accounts', 'created_at', 'last_used_at', 'name']);
    assert.ok(script.last_used_at, 'last use is tracked');
    assert.ok(!listed.text.includes(secret));
    assert.ok(!listed.text.includes(digestHex(secret)), 'not even the hash');

    const file = await readFile(join(rig.dataDir, 'clients.json'), 'utf8');
    assert.ok(!file.includes(secret), 'clients.json holds no secret');
    assert.ok(file.includes(digestHex(secret)), 'only its SHA-256');
    assert.equal((await stat(join(rig.dataDir, 'clients.json'))).mode & 0o777, 0o600);

    const again = await admin('/v1/admin/clients', { body: { name: 'script', accounts: ['main'] } });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'client_exists');

    const revoked = await admin('/v1/admin/clients/script', { method: 'DELETE' });
    assert.equal(revoked.status, 200);
    assert.deepEqual(revoked.json, { name: 'script', revoked: true });
    assert.equal((await call(rig.target, '/v1/accounts/main/token', { bearer: secret })).status, 401);
    const twice = await admin('/v1/admin/clients/script', { method: 'DELETE' });
    assert.equal(twice.status, 404);
    assert.equal(twice.json.error.code, 'client_not_found');
  });

  it('client creation validates its body', async () => {
    for (const body of [{}, { name: 'x' }, { name: 'x', accounts: [] }, { name: 'x', accounts: 'main' }]) {
      const res = await admin('/v1/admin/clients', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, 'bad_request');
    }
    for (const body of [
      { name: 'bad name', accounts: ['main'] },
      { name: 'x', accounts: ['*', 'main'] },
      { name: 'x', accounts: ['../etc'] },
    ]) {
      const res = await admin('/v1/admin/clients', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, 'invalid_client');
    }
  });

  it('POST /v1/admin/login signs an account in; a wrong password is 422, not 401', async () => {
    rig.auth.passwords.set('other@example.com', 'pw-2');
    const wrong = await admin('/v1/admin/login', {
      body: { account: 'other', username: 'other@example.com', password: 'nope', platform: 'web' },
    });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json.error.code, 'pikpak_rejected');
    assert.ok(!wrong.text.includes('nope'), 'the password is never echoed');
    assert.deepEqual(rig.broker.accountNames(), ['main'], 'a failed first login leaves no trace');

    const ok = await admin('/v1/admin/login', {
      body: {
        account: 'other',
        username: 'other@example.com',
        password: 'pw-2',
        platform: 'web',
        remember_password: true,
        device_id: 'dev-other',
      },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, {
      account: 'other',
      expires_at: new Date(rig.clock.now() + 3600_000).toISOString(),
      device_id: 'dev-other',
      user_id: 'user-1',
      refresh_token_saved: true,
      password_saved: true,
      secret_store: rig.broker.vault.description,
    });
    assert.equal(rig.broker.account('other').rememberPassword, true);
    assert.ok(!rig.log.text().includes('pw-2'), 'the password never reaches the log');
  });

  it('login errors: captcha (409 with url), bad body (400), upstream down (503), bad account name (400)', async () => {
    rig.auth.failures.signIn.push(new CaptchaRequiredError('https://captcha.example/challenge'));
    const captcha = await admin('/v1/admin/login', {
      body: {
        account: 'main',
        username: 'user@example.com',
        password: 'right-password',
        platform: 'android',
      },
    });
    assert.equal(captcha.status, 409);
    assert.equal(captcha.json.error.code, 'captcha_required');
    assert.equal(captcha.json.error.url, 'https://captcha.example/challenge');

    rig.auth.failures.signIn.push(new TransientError('network', 'PikPak cannot be reached (ECONNREFUSED)'));
    const down = await admin('/v1/admin/login', {
      body: {
        account: 'main',
        username: 'user@example.com',
        password: 'right-password',
        platform: 'android',
      },
    });
    assert.equal(down.status, 503);
    assert.equal(down.json.error.code, 'upstream_unavailable');
    assert.ok(Number(down.headers['retry-after']) >= 1);

    const bad = await admin('/v1/admin/login', {
      body: { account: 'main', username: 'u', platform: 'amiga' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'bad_request');

    const name = await admin('/v1/admin/login', {
      body: {
        account: '../x',
        username: 'user@example.com',
        password: 'right-password',
        platform: 'android',
      },
    });
    assert.equal(name.status, 400);
    assert.equal(name.json.error.code, 'invalid_account_name');

    const conflict = await admin('/v1/admin/login', {
      body: { account: 'main', username: 'someone@else.com', password: 'x', platform: 'android' },
    });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.json.error.code, 'account_conflict');
    assert.equal(
      rig.broker.account('main').state.type,
      'healthy',
      'failed logins leave the account as it was',
    );
  });

  it('POST /v1/admin/logout forgets the account; its token is then 404', async () => {
    const res = await admin('/v1/admin/logout', { body: { account: 'other' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { account: 'other', signed_out: true });
    assert.equal((await call(rig.target, '/v1/accounts/other/token', { bearer: client })).status, 404);
    const again = await admin('/v1/admin/logout', { body: { account: 'other' } });
    assert.equal(again.status, 404);
  });

  it('unexpected failures are a generic 500; the details go to the log only', async () => {
    const original = rig.broker.status.bind(rig.broker);
    rig.broker.status = () => {
      throw new Error('disk on fire at /secret/place');
    };
    try {
      const res = await admin('/v1/status');
      assert.equal(res.status, 500);
      assert.equal(res.json.error.code, 'internal');
      assert.ok(!res.text.includes('disk on fire'));
      assert.ok(!res.text.includes('.ts:'), 'no stack');
      assert.ok(rig.log.text().includes('disk on fire'), 'logged');
    } finally {
      rig.broker.status = original;
    }
  });
});
