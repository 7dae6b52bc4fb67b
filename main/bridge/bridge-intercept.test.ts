import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateEmulatorCertificate } from '../../e2e/emulator/cert.js';
import { PRESETS, signinMeta } from '../pikpak/protocol.js';
import { startBridge } from './proxy-server.js';
import { httpThrough, httpsThrough } from './testing/proxy-client.js';
import { startBridgeRig, type BridgeRig } from './testing/bridge-rig.js';

const android = PRESETS.android;
const TOKEN_PATH = `/v1/auth/token?client_id=${android.clientId}`;

describe('bridge: CONNECT to PikPak’s auth hosts is intercepted', () => {
  let rig: BridgeRig;
  before(async () => (rig = await startBridgeRig()));
  after(() => rig.stop());

  const current = async () => (await rig.service.broker.getAccessToken('main')).accessToken.reveal();
  const through = (host: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    httpsThrough(rig.bridge.port, {
      host,
      path,
      ca: rig.ca.certPem,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('answers POST /v1/auth/token from the broker (client secret as refresh token), never upstream', async () => {
    const upstreamBefore = rig.emulator.stats().requests.token ?? 0;
    for (const host of ['user.mypikpak.net', 'user.mypikpak.com']) {
      const res = await through(host, TOKEN_PATH, {
        client_id: android.clientId,
        client_secret: android.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: rig.secret,
      });
      assert.equal(res.status, 200, res.body.toString());
      const json = res.json as Record<string, unknown>;
      assert.equal(json.access_token, await current());
      assert.equal(json.refresh_token, `${rig.secret}.main`, 'the surrogate, never a real refresh token');
      assert.equal(json.token_type, 'Bearer');
      assert.equal(json.sub, 'user-1');
      // The certificate AList sees: ours, for exactly that host, short-lived.
      assert.match(String(res.peer.issuer.CN), /PikPak Token Broker bridge CA/);
      assert.equal(res.peer.subjectaltname, `DNS:${host}`);
      assert.ok(Date.parse(res.peer.valid_to) - Date.now() <= 24 * 3600_000 + 1000);
    }
    assert.equal(rig.emulator.stats().requests.token ?? 0, upstreamBefore, 'nothing reached PikPak');
    assert.equal(rig.service.auth.refreshCalls, 0, 'served from the broker’s current token');
  });

  it('answers a form-encoded refresh with the surrogate (golang.org/x/oauth2’s shape)', async () => {
    const res = await httpsThrough(rig.bridge.port, {
      host: 'user.mypikpak.net',
      path: '/v1/auth/token',
      ca: rig.ca.certPem,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: android.clientId,
        client_secret: android.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: `${rig.secret}.main`,
      }).toString(),
    });
    assert.equal(res.status, 200);
    assert.equal((res.json as { access_token: string }).access_token, await current());
  });

  it('answers POST /v1/auth/signin with the client secret as password', async () => {
    const res = await through('user.mypikpak.net', `/v1/auth/signin?client_id=${android.clientId}`, {
      captcha_token: 'anything',
      client_id: android.clientId,
      client_secret: android.clientSecret,
      username: 'user@example.com',
      password: rig.secret,
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal((res.json as { access_token: string }).access_token, await current());
    assert.equal(rig.service.auth.signInCalls, 1, 'only the rig’s own sign-in: AList’s went nowhere');
  });

  it('refuses an unknown secret in PikPak’s own error shape (4126)', async () => {
    const res = await through('user.mypikpak.net', TOKEN_PATH, {
      client_id: android.clientId,
      client_secret: android.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: 'pkb_not-a-real-secret',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.json as object).sort(), ['error', 'error_code', 'error_description']);
    assert.equal((res.json as { error_code: number }).error_code, 4126);
  });

  it('answers token paths written oddly too, so a secret never slips upstream', async () => {
    const upstreamBefore = rig.emulator.stats().requests.token ?? 0;
    for (const path of ['/v1/auth//token', '/V1/auth/token/', '/v1/auth/%74oken']) {
      const res = await through('user.mypikpak.net', path, {
        grant_type: 'refresh_token',
        refresh_token: rig.secret,
      });
      assert.equal(res.status, 200, `${path}: ${res.body.toString()}`);
    }
    const get = await httpsThrough(rig.bridge.port, {
      host: 'user.mypikpak.net',
      path: '/v1/auth/token',
      ca: rig.ca.certPem,
    });
    assert.equal(get.status, 405);
    assert.equal(rig.emulator.stats().requests.token ?? 0, upstreamBefore);
  });

  it('forwards every other auth path to the upstream auth host and returns its answer', async () => {
    const before = rig.emulator.stats().captchaInits;
    const res = await through('user.mypikpak.net', `/v1/shield/captcha/init?client_id=${android.clientId}`, {
      action: 'POST:/v1/auth/signin',
      client_id: android.clientId,
      device_id: 'd41d8cd98f00b204e9800998ecf8427e',
      meta: signinMeta('user@example.com'),
      redirect_uri: 'xlaccsdk01://xbase.cloud/callback?state=harbor',
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.match((res.json as { captcha_token: string }).captcha_token, /^ck/);
    assert.equal(rig.emulator.stats().captchaInits, before + 1, 'the emulator handled it');
  });

  it('answers a plain-HTTP token call on an auth host from the broker, and forwards other plain requests', async () => {
    const answered = await httpThrough(rig.bridge.port, `http://user.mypikpak.net${TOKEN_PATH}`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rig.secret }),
    });
    assert.equal(answered.status, 200, answered.body);
    assert.equal((answered.json as { access_token: string }).access_token, await current());
    const aboutBefore = rig.emulator.stats().requests.about ?? 0;
    const forwarded = await httpThrough(rig.bridge.port, `${rig.emulator.url}/drive/v1/about`);
    assert.equal(forwarded.status, 401, 'the emulator’s own answer (no token sent)');
    assert.equal((forwarded.json as { error_code: number }).error_code, 16);
    assert.equal(rig.emulator.stats().requests.about ?? 0, aboutBefore + 1);
  });

  it('logs hosts and paths at debug, never the secret, a body or an access token', async () => {
    const text = rig.log.text();
    assert.match(text, /"host":"user\.mypikpak\.net"/);
    assert.match(text, /"path":"\/v1\/auth\/token"/);
    assert.match(text, /"path":"\/v1\/shield\/captcha\/init"/);
    assert.ok(!text.includes(rig.secret), 'client secret in the log');
    assert.ok(!text.includes(await current()), 'access token in the log');
    assert.ok(!text.includes('d41d8cd98f00b204e9800998ecf8427e'), 'a body in the log');
    assert.ok(!text.includes('client_id='), 'a query string in the log');
  });
});

describe('bridge: forwarding is unchanged', () => {
  let rig: BridgeRig;
  let echo: Server;
  let seen: { method?: string; url?: string; headers: Record<string, unknown>; body: Buffer }[];
  before(async () => {
    seen = [];
    const cert = await generateEmulatorCertificate();
    echo = createHttpsServer({ cert: cert.certChainPem, key: cert.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(299, 'Custom', { 'x-upstream': 'yes', 'set-cookie': ['a=1', 'b=2'] });
        res.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as AddressInfo).port;
    rig = await startBridgeRig({
      upstream: { authBaseUrl: `https://127.0.0.1:${port}`, caCertPem: cert.caCertPem },
    });
  });
  after(async () => {
    await rig.stop();
    echo.close();
  });

  it('keeps method, path, query, end-to-end headers and body bytes; drops hop-by-hop headers', async () => {
    const body = randomBytes(100_000);
    const res = await httpsThrough(rig.bridge.port, {
      host: 'user.mypikpak.com',
      method: 'PATCH',
      path: '/v1/user/me?x=1&y=%20two&x=3',
      ca: rig.ca.certPem,
      headers: {
        authorization: 'Bearer at.some-access-token',
        'x-device-id': 'dev-1',
        'x-captcha-token': 'ck.1',
        'content-type': 'application/octet-stream',
        connection: 'keep-alive, x-hop',
        'x-hop': 'must not pass',
        'proxy-authorization': 'Basic c2VjcmV0',
      },
      body,
    });
    assert.equal(res.status, 299);
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.ok(res.body.equals(body), 'answer body unchanged');
    const got = seen.at(-1)!;
    assert.equal(got.method, 'PATCH');
    assert.equal(got.url, '/v1/user/me?x=1&y=%20two&x=3');
    assert.equal(got.headers.host, 'user.mypikpak.com');
    assert.equal(got.headers.authorization, 'Bearer at.some-access-token');
    assert.equal(got.headers['x-device-id'], 'dev-1');
    assert.equal(got.headers['x-captcha-token'], 'ck.1');
    assert.equal(got.headers['x-hop'], undefined);
    assert.equal(got.headers['proxy-authorization'], undefined);
    assert.ok(got.body.equals(body), 'request body unchanged');
    assert.ok(!rig.log.text().includes('some-access-token'));
  });

  it('answers 502 in PikPak’s shape when the upstream auth host is down', async () => {
    const down = await startBridge({
      listen: '127.0.0.1:0',
      compat: rig.compat,
      ca: rig.ca,
      log: rig.log,
      upstream: { authBaseUrl: 'https://127.0.0.1:1' },
    });
    try {
      const res = await httpsThrough(down.port, {
        host: 'user.mypikpak.net',
        path: '/v1/shield/captcha/init',
        ca: rig.ca.certPem,
        body: '{}',
      });
      assert.equal(res.status, 502);
      assert.equal((res.json as { error_code: number }).error_code, 14);
    } finally {
      await down.close();
    }
  });
});
