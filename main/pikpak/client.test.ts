/**
 * What PikPakClient puts on the wire (URL, query, headers, body), checked against
 * shared/PIKPAK.md and AList's driver, and how it reads good answers. No sockets: a scripted
 * axios adapter records each request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Secret, isSecret } from '../core/secret.js';
import { toAuthProvider } from './auth-provider.js';
import { PikPakClient, type PikPakClientOptions } from './client.js';
import { PRESETS, userAgent } from './protocol.js';
import { fakeHttp, json, type FakeHandler } from './testing/fake-axios.js';

const NOW = 1_700_000_000_000;
const DEVICE = '7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a';
// AList's android User-Agent ends in a space; HTTP clients (Go's and Node's alike) trim header
// values on the wire, hence the `.trim()` below.
const TOKEN_BODY = {
  token_type: 'Bearer',
  access_token: 'at-2',
  refresh_token: 'rt-2',
  expires_in: 7200,
  sub: 'user-1',
  scope: 'extra fields are ignored',
};

function client(handler: FakeHandler, options: PikPakClientOptions = {}) {
  const http = fakeHttp(handler);
  return {
    pikpak: new PikPakClient({ axiosInstance: http.instance, now: () => NOW, ...options }),
    sent: http.sent,
  };
}

const ok: FakeHandler = (req) =>
  req.url.includes('/shield/captcha/init')
    ? json(200, { captcha_token: 'ck0.issued', expires_in: 300, url: '' })
    : req.url.includes('/drive/v1/about')
      ? json(200, { kind: 'drive#about' })
      : json(200, TOKEN_BODY);

describe('refresh', () => {
  it('POSTs client_id/client_secret/grant_type/refresh_token to /v1/auth/token?client_id=…', async () => {
    const { pikpak, sent } = client(ok);
    const tokens = await pikpak.refresh({
      platform: 'android',
      refreshToken: new Secret('rt-1'),
      deviceId: DEVICE,
    });
    assert.equal(sent.length, 1);
    const req = sent[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, 'https://user.mypikpak.net/v1/auth/token?client_id=YNxT9w7GMdWvEOKa');
    assert.deepEqual(req.body, {
      client_id: 'YNxT9w7GMdWvEOKa',
      client_secret: 'dbw2OtmVEeuUvIptb1Coyg',
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
    });
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['user-agent'], userAgent(PRESETS.android, DEVICE, '', NOW).trim());
    assert.equal(req.headers['authorization'], undefined);

    assert.ok(isSecret(tokens.accessToken) && isSecret(tokens.refreshToken));
    assert.equal(tokens.accessToken.reveal(), 'at-2');
    assert.equal(tokens.refreshToken.reveal(), 'rt-2');
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(tokens.expiresInSec, 7200);
    assert.equal(tokens.userId, 'user-1');
    assert.deepEqual(Object.keys(tokens).sort(), [
      'accessToken',
      'expiresInSec',
      'refreshToken',
      'tokenType',
      'userId',
    ]);
  });

  it('uses the client_id and secret of the platform the token belongs to', async () => {
    const { pikpak, sent } = client(ok);
    await pikpak.refresh({ platform: 'pc', refreshToken: new Secret('rt-1') });
    assert.equal(sent[0]!.url, 'https://user.mypikpak.net/v1/auth/token?client_id=YvtoWO6GNHiuCl7x');
    assert.deepEqual(
      [
        (sent[0]!.body as { client_id: string }).client_id,
        (sent[0]!.body as { client_secret: string }).client_secret,
      ],
      ['YvtoWO6GNHiuCl7x', '1NIH5R1IEe2pAxZE3hv3uA'],
    );
    assert.equal(sent[0]!.headers['user-agent'], userAgent(PRESETS.pc, ''));
  });

  it('never decodes the access token: an opaque non-JWT token is fine, expires_in is the clock', async () => {
    const { pikpak } = client(() => json(200, { ...TOKEN_BODY, access_token: 'not.a.jwt!', expires_in: 60 }));
    const tokens = await pikpak.refresh({ platform: 'web', refreshToken: new Secret('rt-1') });
    assert.equal(tokens.accessToken.reveal(), 'not.a.jwt!');
    assert.equal(tokens.expiresInSec, 60);
  });
});

describe('hosts', () => {
  for (const [auth, drive] of [
    ['https://user.mypikpak.com', 'https://api-drive.mypikpak.com'],
    ['https://user.mypikpak.net/', 'https://api-drive.mypikpak.net/'],
    ['http://127.0.0.1:8080/prefix', 'http://127.0.0.1:8081'],
  ] as const) {
    it(`auth ${auth} and drive ${drive}`, async () => {
      const { pikpak, sent } = client(ok, { authBaseUrl: auth, driveBaseUrl: drive });
      await pikpak.refresh({ platform: 'web', refreshToken: new Secret('rt') });
      await pikpak.checkAccessToken({ platform: 'web', accessToken: new Secret('at'), deviceId: DEVICE });
      assert.equal(sent[0]!.url, `${auth.replace(/\/$/, '')}/v1/auth/token?client_id=YUMx5nI8ZU8Ap8pm`);
      assert.equal(sent[1]!.url, `${drive.replace(/\/$/, '')}/drive/v1/about`);
    });
  }

  it('defaults to the .net hosts', () => {
    const pikpak = new PikPakClient();
    assert.equal(pikpak.authBaseUrl, 'https://user.mypikpak.net');
    assert.equal(pikpak.driveBaseUrl, 'https://api-drive.mypikpak.net');
    assert.equal(pikpak.timeoutMs, 15_000);
  });

  it('refuses base URLs that are not http(s), or carry credentials or a query — without echoing them', () => {
    for (const bad of [
      'ftp://user.mypikpak.net',
      'not a url',
      'https://u:hunter2@user.mypikpak.net',
      'https://x/?a=b',
    ]) {
      assert.throws(
        () => new PikPakClient({ authBaseUrl: bad }),
        (err: unknown) =>
          err instanceof TypeError && !err.message.includes(bad) && !err.message.includes('hunter2'),
      );
    }
    assert.throws(() => new PikPakClient({ timeoutMs: 0 }), RangeError);
  });
});

describe('sign-in and captcha', () => {
  it('signIn POSTs captcha_token/client_id/client_secret/username/password to /v1/auth/signin?client_id=…', async () => {
    const { pikpak, sent } = client(ok);
    const tokens = await pikpak.signIn({
      platform: 'web',
      username: 'alice@example.com',
      password: new Secret('correct horse'),
      deviceId: DEVICE,
      captchaToken: 'ck0.solved',
    });
    const req = sent[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, 'https://user.mypikpak.net/v1/auth/signin?client_id=YUMx5nI8ZU8Ap8pm');
    assert.deepEqual(req.body, {
      captcha_token: 'ck0.solved',
      client_id: 'YUMx5nI8ZU8Ap8pm',
      client_secret: 'dbw2OtmVEeuUvIptb1Coyg',
      username: 'alice@example.com',
      password: 'correct horse',
    });
    assert.equal(req.headers['user-agent'], userAgent(PRESETS.web, DEVICE));
    assert.equal(tokens.refreshToken.reveal(), 'rt-2');
  });

  it('captchaForSignin: action POST:/v1/auth/signin, meta from the username, device id in body and header', async () => {
    const { pikpak, sent } = client(ok);
    const grant = await pikpak.captchaForSignin({
      platform: 'android',
      deviceId: DEVICE,
      username: '13800138000',
    });
    const req = sent[0]!;
    assert.equal(req.url, 'https://user.mypikpak.net/v1/shield/captcha/init?client_id=YNxT9w7GMdWvEOKa');
    assert.deepEqual(req.body, {
      action: 'POST:/v1/auth/signin',
      captcha_token: '',
      client_id: 'YNxT9w7GMdWvEOKa',
      device_id: DEVICE,
      meta: { phone_number: '13800138000' },
      redirect_uri: 'xlaccsdk01://xbase.cloud/callback?state=harbor',
    });
    assert.equal(req.headers['x-device-id'], DEVICE);
    assert.equal(req.headers['x-captcha-token'], '');
    assert.equal(req.headers['user-agent'], userAgent(PRESETS.android, DEVICE, '', NOW).trim());
    assert.ok(isSecret(grant.captchaToken));
    assert.equal(grant.captchaToken.reveal(), 'ck0.issued');
    assert.equal(grant.expiresIn, 300);
  });

  it('captchaAfterSignin: meta carries the captcha_sign for the injected clock (independent vector)', async () => {
    const { pikpak, sent } = client(ok);
    await pikpak.captchaAfterSignin({
      platform: 'web',
      deviceId: DEVICE,
      userId: 'user-1',
      action: 'GET:/drive/v1/files',
      captchaToken: new Secret('ck0.old'),
      accessToken: new Secret('at-1'),
    });
    const req = sent[0]!;
    assert.deepEqual(req.body, {
      action: 'GET:/drive/v1/files',
      captcha_token: 'ck0.old',
      client_id: 'YUMx5nI8ZU8Ap8pm',
      device_id: DEVICE,
      meta: {
        client_version: '2.0.0',
        package_name: 'mypikpak.com',
        user_id: 'user-1',
        timestamp: '1700000000000',
        // From protocol.test.ts: python3 hashlib chain over the web salts (see the comment there).
        captcha_sign: '1.fdb0f79ddb3147be704c7275c46cf0b3',
      },
      redirect_uri: 'xlaccsdk01://xbase.cloud/callback?state=harbor',
    });
    assert.equal(req.headers['x-captcha-token'], 'ck0.old');
    assert.equal(req.headers['authorization'], 'Bearer at-1');
  });

  it('signInWithCaptcha: captcha init for the sign-in, then the sign-in with that token', async () => {
    const { pikpak, sent } = client(ok);
    await pikpak.signInWithCaptcha({
      platform: 'web',
      username: 'alice@example.com',
      password: new Secret('pw'),
      deviceId: DEVICE,
    });
    assert.deepEqual(
      sent.map((r) => new URL(r.url).pathname),
      ['/v1/shield/captcha/init', '/v1/auth/signin'],
    );
    assert.deepEqual((sent[0]!.body as { meta: unknown }).meta, { email: 'alice@example.com' });
    assert.equal((sent[1]!.body as { captcha_token: string }).captcha_token, 'ck0.issued');
  });

  it('signInWithCaptcha with a captcha token solved on the challenge page skips the init', async () => {
    const { pikpak, sent } = client(ok);
    await pikpak.signInWithCaptcha({
      platform: 'web',
      username: 'alice@example.com',
      password: new Secret('pw'),
      deviceId: DEVICE,
      captchaToken: 'ck0.from-redirect',
    });
    assert.equal(sent.length, 1);
    assert.equal(new URL(sent[0]!.url).pathname, '/v1/auth/signin');
    assert.equal((sent[0]!.body as { captcha_token: string }).captcha_token, 'ck0.from-redirect');
  });
});

describe('checkAccessToken', () => {
  it('GETs /drive/v1/about with Bearer, X-Device-ID, X-Captcha-Token and User-Agent, no client_id', async () => {
    const { pikpak, sent } = client(ok);
    const result = await pikpak.checkAccessToken({
      platform: 'android',
      accessToken: new Secret('at-1'),
      deviceId: DEVICE,
      captchaToken: 'ck0.x',
      userId: 'user-1',
    });
    assert.equal(result, undefined);
    const req = sent[0]!;
    assert.equal(req.method, 'GET');
    assert.equal(req.url, 'https://api-drive.mypikpak.net/drive/v1/about');
    assert.equal(req.headers['authorization'], 'Bearer at-1');
    assert.equal(req.headers['x-device-id'], DEVICE);
    assert.equal(req.headers['x-captcha-token'], 'ck0.x');
    assert.equal(req.headers['user-agent'], userAgent(PRESETS.android, DEVICE, 'user-1', NOW).trim());
    assert.equal(req.rawBody, undefined);
  });
});

describe('options', () => {
  it('preset overrides replace a platform’s client credentials', async () => {
    const { pikpak, sent } = client(ok, {
      presets: { web: { ...PRESETS.web, clientId: 'NEWCLIENT', clientSecret: 'NEWSECRET' } },
    });
    await pikpak.refresh({ platform: 'web', refreshToken: new Secret('rt') });
    assert.equal(sent[0]!.url, 'https://user.mypikpak.net/v1/auth/token?client_id=NEWCLIENT');
    assert.equal((sent[0]!.body as { client_secret: string }).client_secret, 'NEWSECRET');
  });

  it('agents and proxy reach axios', async () => {
    const { Agent } = await import('node:https');
    const httpsAgent = new Agent();
    const { pikpak, sent } = client(ok, { httpsAgent, proxy: false });
    await pikpak.refresh({ platform: 'web', refreshToken: new Secret('rt') });
    assert.equal(sent[0]!.config.httpsAgent, httpsAgent);
    assert.equal(sent[0]!.config.proxy, false);
    httpsAgent.destroy();
  });
});

describe('toAuthProvider (the keeper’s port)', () => {
  it('refresh → refresh; signIn → signInWithCaptcha', async () => {
    const { pikpak, sent } = client(ok);
    const auth = toAuthProvider(pikpak);
    const refreshed = await auth.refresh({ platform: 'web', refreshToken: new Secret('rt-1') });
    assert.equal(refreshed.refreshToken.reveal(), 'rt-2');
    await auth.signIn({
      platform: 'web',
      username: 'alice@example.com',
      password: new Secret('pw'),
      deviceId: DEVICE,
      captchaToken: undefined,
    });
    assert.deepEqual(
      sent.map((r) => new URL(r.url).pathname),
      ['/v1/auth/token', '/v1/shield/captcha/init', '/v1/auth/signin'],
    );
  });
});
