import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { INVALID_GRANT_DESCRIPTION, PATHS, PRESETS, signedMeta } from '../../main/pikpak/protocol.js';
import { startEmulator, type Emulator } from './server.js';
import {
  bearer,
  call,
  captchaInitForSignin,
  captchaInitSigned,
  refreshRequest,
  signIn,
  signinRequest,
  type CaptchaAnswer,
} from './test-client.js';
import type { TokenResponseBody } from '../../main/pikpak/protocol.js';

const USER = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const web = PRESETS.web;
const android = PRESETS.android;
const INVALID_GRANT = {
  error: 'invalid_grant',
  error_code: 4126,
  error_description: INVALID_GRANT_DESCRIPTION,
};

void describe('emulator: captcha init', () => {
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }] });
  });
  after(() => pikpak.close());

  void it('issues a captcha token for each pre-sign-in meta form', async () => {
    for (const username of [USER, '13800138000', 'bob']) {
      const res = await captchaInitForSignin(pikpak.url, web, username, 'dev-1');
      assert.equal(res.status, 200, res.text);
      const answer = res.json as CaptchaAnswer;
      assert.match(answer.captcha_token, /^ck0\./);
      assert.equal(answer.expires_in, 300);
      assert.equal(answer.url, '');
    }
    assert.equal(pikpak.stats().captchaInits, 3);
  });

  void it('accepts a good captcha_sign for every platform and rejects a bad one', async () => {
    for (const preset of Object.values(PRESETS)) {
      const good = await captchaInitSigned(pikpak.url, preset, 'dev-2', 'user-1');
      assert.equal(good.status, 200, `${preset.platform}: ${good.text}`);
    }
    const meta = signedMeta(web, 'dev-2', 'user-1', 1_700_000_000_000);
    const tampered = await call(`${pikpak.url}${PATHS.captchaInit}?client_id=${web.clientId}`, {
      json: {
        action: 'GET:/drive/v1/files',
        client_id: web.clientId,
        device_id: 'dev-2',
        meta: { ...meta, captcha_sign: meta.captcha_sign.replace(/.$/, (c) => (c === '0' ? '1' : '0')) },
      },
    });
    assert.equal(tampered.status, 400);
    assert.deepEqual(tampered.json, {
      error: 'captcha_invalid',
      error_code: 4002,
      error_description: 'Code(4002) - captcha_sign invalid',
    });
    // Signed for another device id than the one sent.
    const otherDevice = await call(`${pikpak.url}${PATHS.captchaInit}?client_id=${web.clientId}`, {
      json: { action: 'GET:/drive/v1/files', client_id: web.clientId, device_id: 'dev-3', meta },
    });
    assert.equal(otherDevice.status, 400);
    assert.equal((otherDevice.json as { error_code: number }).error_code, 4002);
    // Android's salts presented as the web client.
    const wrongPreset = await call(`${pikpak.url}${PATHS.captchaInit}?client_id=${web.clientId}`, {
      json: {
        action: 'GET:/drive/v1/files',
        client_id: web.clientId,
        device_id: 'dev-2',
        meta: signedMeta(android, 'dev-2', 'user-1', 1_700_000_000_000),
      },
    });
    assert.equal(wrongPreset.status, 400);
  });

  void it('rejects unknown clients, missing meta and malformed actions in PikPak shape', async () => {
    const unknown = await call(`${pikpak.url}${PATHS.captchaInit}?client_id=nope`, {
      json: { action: 'POST:/v1/auth/signin', client_id: 'nope', device_id: 'd', meta: { email: USER } },
    });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.json as { error: string }).error, 'invalid_client');

    const noMeta = await call(`${pikpak.url}${PATHS.captchaInit}`, {
      json: { action: 'POST:/v1/auth/signin', client_id: web.clientId, device_id: 'd', meta: {} },
    });
    assert.equal(noMeta.status, 400);
    assert.equal((noMeta.json as { error_code: number }).error_code, 3);

    const badAction = await call(`${pikpak.url}${PATHS.captchaInit}`, {
      json: { action: 'signin', client_id: web.clientId, device_id: 'd', meta: { email: USER } },
    });
    assert.equal(badAction.status, 400);
  });
});

void describe('emulator: sign-in', () => {
  let clock = 1_700_000_000_000;
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({
      accounts: [{ username: USER, password: PASSWORD, userId: 'ZNALICE' }],
      accessTtlSeconds: 600,
      now: () => clock,
    });
  });
  after(() => pikpak.close());

  async function captchaFor(username = USER, device = 'dev-1'): Promise<string> {
    const res = await captchaInitForSignin(pikpak.url, web, username, device);
    assert.equal(res.status, 200, res.text);
    return (res.json as CaptchaAnswer).captcha_token;
  }

  void it('answers tokens in PikPak shape', async () => {
    const res = await signinRequest(pikpak.url, web, USER, PASSWORD, await captchaFor());
    assert.equal(res.status, 200, res.text);
    const body = res.json as TokenResponseBody;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'sub',
      'token_type',
    ]);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 600);
    assert.equal(body.sub, 'ZNALICE');
    assert.notEqual(body.access_token, body.refresh_token);
    assert.ok(body.access_token.length >= 40 && body.refresh_token.length >= 40);
    const again = await signIn(pikpak.url, web, USER, PASSWORD);
    assert.notEqual(again.access_token, body.access_token);
    assert.notEqual(again.refresh_token, body.refresh_token);
  });

  void it('rejects a wrong password and an unknown user alike', async () => {
    const failuresBefore = pikpak.stats().signinFailures;
    const wrong = await signinRequest(pikpak.url, web, USER, 'wrong', await captchaFor());
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.json, {
      error: 'invalid_account_or_password',
      error_code: 4022,
      error_description: 'Invalid username or password',
    });
    const unknown = await signinRequest(
      pikpak.url,
      web,
      'mallory@example.com',
      'x',
      await captchaFor('mallory@example.com'),
    );
    assert.deepEqual(unknown.json, wrong.json);
    assert.equal(pikpak.stats().signinFailures, failuresBefore + 2);
  });

  void it('needs a live captcha token issued for sign-in, for this user', async () => {
    const missing = await signinRequest(pikpak.url, web, USER, PASSWORD, '');
    assert.equal(missing.status, 400);
    assert.equal((missing.json as { error_code: number }).error_code, 9);
    assert.equal((missing.json as { error: string }).error, 'captcha_invalid');

    const forDrive = await captchaInitSigned(
      pikpak.url,
      web,
      'dev-1',
      'ZNALICE',
      'GET:/drive/v1/files',
      clock,
    );
    const wrongAction = await signinRequest(
      pikpak.url,
      web,
      USER,
      PASSWORD,
      (forDrive.json as CaptchaAnswer).captcha_token,
    );
    assert.equal((wrongAction.json as { error_code: number }).error_code, 9);

    const otherUser = await signinRequest(pikpak.url, web, USER, PASSWORD, await captchaFor('bob'));
    assert.equal((otherUser.json as { error_code: number }).error_code, 9);

    const token = await captchaFor();
    clock += 301_000;
    const expired = await signinRequest(pikpak.url, web, USER, PASSWORD, token);
    assert.equal(expired.status, 400);
    assert.match((expired.json as { error_description: string }).error_description, /expired/);

    // Bound to the device when the request names one.
    const bound = await captchaFor(USER, 'dev-A');
    const otherDevice = await signinRequest(pikpak.url, web, USER, PASSWORD, bound, {
      headers: { 'x-device-id': 'dev-B' },
    });
    assert.equal((otherDevice.json as { error_code: number }).error_code, 9);
    const sameDevice = await signinRequest(pikpak.url, web, USER, PASSWORD, bound, {
      headers: { 'x-device-id': 'dev-A' },
    });
    assert.equal(sameDevice.status, 200);
  });

  void it('checks the client_id / client_secret pair; client_id may come from the query only', async () => {
    const wrongSecret = await call(`${pikpak.url}${PATHS.signin}?client_id=${web.clientId}`, {
      json: {
        captcha_token: await captchaFor(),
        client_id: web.clientId,
        client_secret: 'x',
        username: USER,
        password: PASSWORD,
      },
    });
    assert.equal(wrongSecret.status, 400);
    assert.equal((wrongSecret.json as { error: string }).error, 'invalid_client');
    // The pc client's secret with the web client id.
    const mixed = await call(`${pikpak.url}${PATHS.signin}`, {
      json: {
        captcha_token: await captchaFor(),
        client_id: web.clientId,
        client_secret: PRESETS.pc.clientSecret,
        username: USER,
        password: PASSWORD,
      },
    });
    assert.equal((mixed.json as { error: string }).error, 'invalid_client');
    const queryOnly = await call(`${pikpak.url}${PATHS.signin}?client_id=${web.clientId}`, {
      json: {
        captcha_token: await captchaFor(),
        client_secret: web.clientSecret,
        username: USER,
        password: PASSWORD,
      },
    });
    assert.equal(queryOnly.status, 200, queryOnly.text);
  });

  void it('takes form-encoded sign-in bodies, and no captcha when requireCaptcha is off', async () => {
    const form = await call(`${pikpak.url}${PATHS.signin}?client_id=${web.clientId}`, {
      form: {
        captcha_token: await captchaFor(),
        client_id: web.clientId,
        client_secret: web.clientSecret,
        username: USER,
        password: PASSWORD,
      },
    });
    assert.equal(form.status, 200, form.text);
    pikpak.configure({ requireCaptcha: false });
    try {
      const res = await signinRequest(pikpak.url, web, USER, PASSWORD, '');
      assert.equal(res.status, 200, res.text);
    } finally {
      pikpak.configure({ requireCaptcha: true });
    }
    const res = await signinRequest(pikpak.url, web, USER, PASSWORD, '');
    assert.equal(res.status, 400);
  });
});

void describe('emulator: refresh rotation', () => {
  let clock = 1_700_000_000_000;
  const logs: string[] = [];
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({
      accounts: [{ username: USER, password: PASSWORD }],
      accessTtlSeconds: 100,
      now: () => clock,
      log: (line) => logs.push(line),
    });
  });
  after(() => pikpak.close());

  void it('rotates strictly: a used refresh token gets exactly the 4126 body', async () => {
    const first = await signIn(pikpak.url, web, USER, PASSWORD);
    const rotated = await refreshRequest(pikpak.url, web, first.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);
    const second = rotated.json as TokenResponseBody;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    assert.equal(second.expires_in, 100);
    assert.equal(second.sub, first.sub);

    const reuse = await refreshRequest(pikpak.url, web, first.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(reuse.json, INVALID_GRANT);

    const next = await refreshRequest(pikpak.url, web, second.refresh_token);
    assert.equal(next.status, 200);
    const account = pikpak.stats().accounts[USER]!;
    assert.equal(account.reuseAttempts, 1);
    assert.deepEqual(
      account.refreshTokenLineage.map((e) => [e.issuedBy, e.presentations, e.usedAt !== undefined]),
      [
        ['signin', 2, true],
        ['refresh', 1, true],
        ['refresh', 0, false],
      ],
    );
    assert.equal(account.refreshTokenLineage[1]!.parent, account.refreshTokenLineage[0]!.id);
  });

  void it('takes form-encoded bodies without ?client_id= (golang.org/x/oauth2, AuthStyleInParams)', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const res = await refreshRequest(pikpak.url, web, tokens.refresh_token, { form: true });
    assert.equal(res.status, 200, res.text);
    const reuse = await refreshRequest(pikpak.url, web, tokens.refresh_token, { form: true });
    assert.deepEqual(reuse.json, INVALID_GRANT);
  });

  void it('binds a refresh token to its client_id without spending it elsewhere', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const asAndroid = await refreshRequest(pikpak.url, android, tokens.refresh_token);
    assert.deepEqual(asAndroid.json, INVALID_GRANT);
    const wrongSecret = await refreshRequest(pikpak.url, web, tokens.refresh_token, { clientSecret: 'nope' });
    assert.equal((wrongSecret.json as { error: string }).error, 'invalid_client');
    const asWeb = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(asWeb.status, 200, asWeb.text);
  });

  void it('answers 4126 for unknown tokens and refuses other grant types', async () => {
    const unknown = await refreshRequest(pikpak.url, web, 'os.not-a-token');
    assert.deepEqual(unknown.json, INVALID_GRANT);
    const grant = await call(`${pikpak.url}${PATHS.token}`, {
      form: {
        client_id: web.clientId,
        client_secret: web.clientSecret,
        grant_type: 'password',
        refresh_token: 'x',
      },
    });
    assert.equal(grant.status, 400);
    assert.equal((grant.json as { error: string }).error, 'unsupported_grant_type');
  });

  void it('expires access tokens after expires_in on the injected clock, and keeps old ones until then', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const about = (token: string) => call(`${pikpak.url}${PATHS.about}`, { headers: bearer(token) });
    assert.equal((await about(tokens.access_token)).status, 200);
    clock += 60_000;
    const rotated = (await refreshRequest(pikpak.url, web, tokens.refresh_token)).json as TokenResponseBody;
    clock += 39_000; // 99 s after sign-in: the first access token is still good
    assert.equal((await about(tokens.access_token)).status, 200);
    clock += 1_000; // 100 s: expired
    const expired = await about(tokens.access_token);
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.json, {
      error: 'unauthenticated',
      error_code: 16,
      error_description: 'unauthenticated: token is expired',
    });
    assert.equal((await about(rotated.access_token)).status, 200);
    clock += 61_000;
    assert.equal((await about(rotated.access_token)).status, 401);
  });

  void it('revokes an account’s live refresh tokens through the admin API', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const revoke = await call(`${pikpak.url}/__emulator/revoke`, { json: { username: USER } });
    assert.equal(revoke.status, 200, revoke.text);
    assert.ok((revoke.json as { revoked: number }).revoked >= 1);
    assert.deepEqual((await refreshRequest(pikpak.url, web, tokens.refresh_token)).json, INVALID_GRANT);
    const entry = pikpak.stats().accounts[USER]!.refreshTokenLineage.at(-1)!;
    assert.ok(entry.revokedAt !== undefined);
    assert.equal(entry.presentations, 1);
    const unknown = await call(`${pikpak.url}/__emulator/revoke`, { json: { username: 'nobody' } });
    assert.equal(unknown.status, 404);
  });

  void it('never puts passwords or tokens in logs or stats', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const rotated = (await refreshRequest(pikpak.url, web, tokens.refresh_token)).json as TokenResponseBody;
    const stats = JSON.stringify(pikpak.stats());
    const text = logs.join('\n') + stats;
    assert.ok(logs.some((l) => l.includes('refresh ok')));
    for (const secret of [PASSWORD, tokens.refresh_token, tokens.access_token, rotated.refresh_token]) {
      assert.ok(!text.includes(secret), 'a secret leaked into logs or stats');
    }
    for (const entry of pikpak.stats().accounts[USER]!.refreshTokenLineage)
      assert.match(entry.id, /^[0-9a-f]{8,16}$/);
  });
});

void describe('emulator: drive and user calls, hosts, limits', () => {
  let pikpak: Emulator;
  let tokens: TokenResponseBody;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD, userId: 'ZNALICE' }] });
    tokens = await signIn(pikpak.url, web, USER, PASSWORD);
  });
  after(() => pikpak.close());

  void it('answers about, files and user/me for a valid bearer token', async () => {
    const about = await call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) });
    assert.equal((about.json as { kind: string }).kind, 'drive#about');
    const files = await call(`${pikpak.url}${PATHS.files}?parent_id=&limit=100`, {
      headers: bearer(tokens.access_token),
    });
    assert.deepEqual((files.json as { files: unknown[]; next_page_token: string }).files, []);
    assert.equal((files.json as { kind: string }).kind, 'drive#fileList');
    const me = await call(`${pikpak.url}/v1/user/me`, { headers: bearer(tokens.access_token) });
    assert.equal((me.json as { sub: string }).sub, 'ZNALICE');
    assert.equal((me.json as { email: string }).email, USER);
  });

  void it('answers 401 in PikPak shape without a usable bearer token', async () => {
    const none = await call(`${pikpak.url}${PATHS.about}`);
    assert.equal(none.status, 401);
    assert.equal((none.json as { error_code: number }).error_code, 16);
    const unknown = await call(`${pikpak.url}${PATHS.files}`, { headers: bearer('at.unknown') });
    assert.equal((unknown.json as { error_code: number }).error_code, 16);
    const malformed = await call(`${pikpak.url}/v1/user/me`, {
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });
    assert.equal(malformed.status, 401);
    assert.equal((malformed.json as { error_code: number }).error_code, 4122);
  });

  void it('accepts every PikPak host name', async () => {
    for (const host of ['user.mypikpak.com', 'user.mypikpak.net']) {
      const viaHost = await call(`${pikpak.url}${PATHS.token}?client_id=${web.clientId}`, {
        headers: { host },
        json: {
          client_id: web.clientId,
          client_secret: web.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token,
        },
      });
      assert.equal(viaHost.status, 200, `${host}: ${viaHost.text}`);
      tokens = viaHost.json as TokenResponseBody;
    }
    for (const host of ['api-drive.mypikpak.com', 'api-drive.mypikpak.net']) {
      const res = await call(`${pikpak.url}${PATHS.about}`, {
        headers: { host, ...bearer(tokens.access_token) },
      });
      assert.equal(res.status, 200, `${host}: ${res.text}`);
    }
  });

  void it('refuses bodies over 1 MiB with 413, and unknown paths with 404', async () => {
    const big = await call(`${pikpak.url}${PATHS.token}`, {
      raw: JSON.stringify({ refresh_token: 'x'.repeat(1024 * 1024 + 10) }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(big.status, 413);
    assert.equal((big.json as { error_code: number }).error_code, 3);
    const notJson = await call(`${pikpak.url}${PATHS.token}`, {
      raw: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    const missing = await call(`${pikpak.url}/drive/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { error: string }).error, 'not_found');
  });

  void it('seeds accounts and changes config through the admin API, and counts requests', async () => {
    const seeded = await call(`${pikpak.url}/__emulator/accounts`, {
      json: [{ username: 'carol', password: 'pw-carol', userId: 'ZNCAROL' }],
    });
    assert.equal(seeded.status, 201, seeded.text);
    const config = await call(`${pikpak.url}/__emulator/config`, { json: { accessTtlSeconds: 42 } });
    assert.equal((config.json as { accessTtlSeconds: number }).accessTtlSeconds, 42);
    const carol = await signIn(pikpak.url, PRESETS.pc, 'carol', 'pw-carol');
    assert.equal(carol.sub, 'ZNCAROL');
    assert.equal(carol.expires_in, 42);
    const bad = await call(`${pikpak.url}/__emulator/config`, { json: { accessTtlSeconds: -1 } });
    assert.equal(bad.status, 400);
    const stats = (await call(`${pikpak.url}/__emulator/stats`)).json as ReturnType<Emulator['stats']>;
    assert.ok(stats.requests['signin']! >= 2);
    assert.ok(stats.requests['admin']! >= 3);
    assert.equal(stats.accounts['carol']!.userId, 'ZNCAROL');
  });
});
