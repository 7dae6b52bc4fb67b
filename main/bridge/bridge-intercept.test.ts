import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateEmulatorCertificate } from '../../e2e/emulator/cert.js';
import { PRESETS, signinMeta } from '../pikpak/protocol.js';
import { startBridge } from './proxy-server.js';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { httpThrough, httpsThrough, rawConnect, tlsThrough } from './testing/proxy-client.js';
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
      proxySecret: rig.secret,
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
      proxySecret: rig.secret,
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

  it('takes the proxy credentials as the client when the call carries no credential of its own', async () => {
    const second = await rig.service.addClient('second', ['main']);
    const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      httpsThrough(rig.bridge.port, {
        proxySecret: second,
        host: 'user.mypikpak.net',
        path,
        ca: rig.ca.certPem,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    for (const refreshToken of [undefined, '']) {
      const res = await call(TOKEN_PATH, { grant_type: 'refresh_token', refresh_token: refreshToken });
      assert.equal(res.status, 200, `${refreshToken}: ${res.body.toString()}`);
      assert.equal((res.json as { access_token: string }).access_token, await current());
      assert.equal(
        (res.json as { refresh_token: string }).refresh_token,
        `${second}.main`,
        'the proxy client’s surrogate',
      );
    }
    const signin = await call(`/v1/auth/signin?client_id=${android.clientId}`, {
      username: 'user@example.com',
      password: '',
    });
    assert.equal(signin.status, 200, signin.body.toString());
    // A credential in the call decides: a known one wins, a wrong one is refused as before.
    const own = await call(TOKEN_PATH, { grant_type: 'refresh_token', refresh_token: rig.secret });
    assert.equal((own.json as { refresh_token: string }).refresh_token, `${rig.secret}.main`);
    const bearer = await call(
      TOKEN_PATH,
      { grant_type: 'refresh_token' },
      { authorization: `Bearer ${rig.secret}` },
    );
    assert.equal((bearer.json as { refresh_token: string }).refresh_token, `${rig.secret}.main`);
    const wrong = await call(TOKEN_PATH, {
      grant_type: 'refresh_token',
      refresh_token: 'a-real-pikpak-refresh-token',
    });
    assert.equal(wrong.status, 400);
    assert.equal((wrong.json as { error_code: number }).error_code, 4126);
    await rig.service.clients.revoke('second');
  });

  it('refuses an unknown secret in PikPak’s own error shape (4126), and what the proxy credentials must not paper over', async () => {
    for (const refreshToken of [
      'pkb_not-a-real-secret',
      `${rig.secret}.other-account`, // a known client, an account it may not use
      rig.service.adminToken, // the admin credential never lands in AList
    ]) {
      const res = await through('user.mypikpak.net', TOKEN_PATH, {
        client_id: android.clientId,
        client_secret: android.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      assert.equal(res.status, 400);
      assert.deepEqual(Object.keys(res.json as object).sort(), ['error', 'error_code', 'error_description']);
      assert.equal((res.json as { error_code: number }).error_code, 4126);
    }
  });

  it('answers only the exact token paths; GET on them is 405, nothing goes upstream', async () => {
    const upstreamBefore = rig.emulator.stats().requests.token ?? 0;
    const get = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
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
      proxySecret: rig.secret,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rig.secret }),
    });
    assert.equal(answered.status, 200, answered.body);
    assert.equal((answered.json as { access_token: string }).access_token, await current());
    const aboutBefore = rig.emulator.stats().requests.about ?? 0;
    const forwarded = await httpThrough(rig.bridge.port, `${rig.emulator.url}/drive/v1/about`, {
      proxySecret: rig.secret,
    });
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
  let plain: HttpServer;
  let seen: { method?: string; url?: string; headers: Record<string, unknown>; body: Buffer }[];
  before(async () => {
    seen = [];
    // The plain-HTTP auth host (absolute-form requests to http://user.mypikpak.net) records too.
    plain = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
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
    const plainPort = (plain.address() as AddressInfo).port;
    rig = await startBridgeRig({
      upstream: {
        authBaseUrl: `https://127.0.0.1:${port}`,
        caCertPem: cert.caCertPem,
        tunnelOverrides: { 'user.mypikpak.net:80': `127.0.0.1:${plainPort}` },
      },
    });
  });
  after(async () => {
    await rig.stop();
    echo.close();
    plain.close();
  });

  /** Paths some server could read as a token or sign-in path; each carries the secret in its body. */
  const ODD_TOKEN_PATHS = [
    '/v1/auth/token;x',
    '/v1/auth/token;jsessionid=1?client_id=x',
    '//user.mypikpak.net/v1/auth/token',
    '//x/v1/auth/signin',
    '/v1/auth;x/token',
    '/v1/auth/signin;x',
    '/v1/auth/%74oken',
    '/v1/auth/token%2f',
    '/v1/auth%2ftoken',
    '/v1/auth%2Fsignin',
    '/v1/%2e/auth/token',
    '/v1/auth/%2e%2e/auth/token',
    '/v1/auth/%252e%252e/auth/token',
    '/v1/x/../auth/token',
    '/v1/x/%2E%2E/auth/signin',
    '/v1/./auth/token',
    '/v1/auth//token',
    '//v1/auth/token',
    '/v1/auth/token/',
    '/v1/auth/token//',
    '/V1/auth/token',
    '/v1/AUTH/SIGNIN',
    '/v1/auth/token.',
    '/v1/auth/token%20',
    '/v1/auth/token%00',
    '/v1/auth/token%09',
    '/v1/auth\\token',
    'https://user.mypikpak.net/v1/auth//token',
    'https://user.mypikpak.net/v1/auth/token;x',
  ];
  const body = (): string =>
    JSON.stringify({ grant_type: 'refresh_token', refresh_token: rig.secret, password: rig.secret });

  it('refuses every other spelling of the token paths with 400 and forwards none of them (TLS)', async () => {
    const before = {
      seen: seen.length,
      odd: rig.bridge.stats().oddTokenPaths,
      answered: rig.bridge.stats().answered,
    };
    for (const path of ODD_TOKEN_PATHS) {
      const res = await httpsThrough(rig.bridge.port, {
        proxySecret: rig.secret,
        host: 'user.mypikpak.net',
        path,
        ca: rig.ca.certPem,
        headers: { 'content-type': 'application/json' },
        body: body(),
      });
      assert.equal(res.status, 400, `${path}: ${res.status} ${res.body.toString()}`);
      assert.match(
        res.body.toString(),
        /answers only \/v1\/auth\/token and \/v1\/auth\/signin written exactly so/,
      );
    }
    assert.equal(
      seen.length,
      before.seen,
      `forwarded: ${seen
        .slice(before.seen)
        .map((s) => s.url)
        .join(', ')}`,
    );
    assert.equal(rig.bridge.stats().oddTokenPaths - before.odd, ODD_TOKEN_PATHS.length);
    assert.equal(rig.bridge.stats().answered, before.answered, 'none answered from the broker either');
    assert.ok(!rig.log.text().includes(rig.secret), 'the secret in the log');
  });

  it('refuses them in plain (absolute-form) requests to the auth host too', async () => {
    const before = seen.length;
    for (const path of ODD_TOKEN_PATHS.filter((p) => p.startsWith('/') && !p.startsWith('//'))) {
      const res = await httpThrough(rig.bridge.port, `http://user.mypikpak.net${path}`, {
        proxySecret: rig.secret,
        headers: { 'content-type': 'application/json' },
        body: body(),
      });
      assert.equal(res.status, 400, `${path}: ${res.status} ${res.body}`);
    }
    assert.equal(
      seen.length,
      before,
      `forwarded: ${seen
        .slice(before)
        .map((s) => s.url)
        .join(', ')}`,
    );
  });

  it('still forwards near misses that no server reads as a token path', async () => {
    const before = seen.length;
    for (const path of ['/v1/auth/tokens', '/v1/auth/token2', '/v1/auth/verification', '/v1/auth/signin-x']) {
      const res = await httpsThrough(rig.bridge.port, {
        proxySecret: rig.secret,
        host: 'user.mypikpak.net',
        path,
        ca: rig.ca.certPem,
        body: '{}',
      });
      assert.equal(res.status, 299, path);
      assert.equal(seen.at(-1)!.url, path);
    }
    assert.equal(seen.length, before + 4);
  });

  it('keeps method, path, query, end-to-end headers and body bytes; drops hop-by-hop headers', async () => {
    const body = randomBytes(100_000);
    const res = await httpsThrough(rig.bridge.port, {
      proxySecret: rig.secret,
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
        proxySecret: rig.secret,
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

describe('bridge: revoking a client revokes its proxy access at once', () => {
  let rig: BridgeRig;
  before(async () => (rig = await startBridgeRig({ limits: { revocationCheckMs: 100 } })));
  after(() => rig.stop());

  const tokenRequest = (secret: string): string => {
    const body = JSON.stringify({ grant_type: 'refresh_token', refresh_token: secret });
    return (
      `POST ${TOKEN_PATH} HTTP/1.1\r\nHost: user.mypikpak.net\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };
  /** Writes one request on a keep-alive connection and reads one answer (head and sized body). */
  const exchange = (tls: TLSSocket, request: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? -1);
        if (end !== -1 && length >= 0 && Buffer.byteLength(text) >= end + 4 + length) {
          tls.off('data', onData);
          resolve({ status: Number(text.slice(9, 12)), text });
        }
      };
      tls.on('data', onData);
      tls.once('error', reject);
      tls.write(request);
    });
  const closed = (socket: Duplex) =>
    new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

  it('the next request on an open intercepted connection gets 407 and the connection closes', async () => {
    const temp = await rig.service.addClient('temp', ['main']);
    const tls = await tlsThrough(rig.bridge.port, 'user.mypikpak.net', 443, rig.ca.certPem, temp);
    assert.equal((await exchange(tls, tokenRequest(temp))).status, 200);
    // With the proxy credentials as the client, so that only the proxy check can refuse.
    await rig.service.clients.revoke('temp');
    const answer = await exchange(tls, tokenRequest(rig.secret));
    assert.equal(answer.status, 407, answer.text);
    assert.match(answer.text, /proxy-authenticate: Basic realm="pikpak-token-broker"/i);
    assert.match(answer.text, /was revoked/);
    await closed(tls);
    const again = await rawConnect(rig.bridge.port, 'user.mypikpak.net:443', temp);
    assert.equal(again.status, 407, 'the next CONNECT');
    again.socket.destroy();
  });

  it('closes the revoked client’s open tunnels and idle intercepted connections within the check interval', async () => {
    const temp = await rig.service.addClient('temp2', ['main']);
    const tunnel = await rawConnect(rig.bridge.port, 'api-drive.mypikpak.net:443', temp);
    assert.equal(tunnel.status, 200);
    const idle = await tlsThrough(rig.bridge.port, 'user.mypikpak.net', 443, rig.ca.certPem, temp);
    const kept = await rawConnect(rig.bridge.port, 'api-drive.mypikpak.net:443', rig.secret);
    const before = rig.bridge.stats().revokedConnections;
    const started = Date.now();
    await rig.service.clients.revoke('temp2');
    await Promise.all([closed(tunnel.socket), closed(idle)]);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    assert.equal(rig.bridge.stats().revokedConnections - before, 2);
    assert.ok(!kept.socket.destroyed, 'another client’s tunnel stays open');
    kept.socket.destroy();
    assert.match(rig.log.text(), /closed a tunnel of revoked client \\"temp2\\"/);
  });

  it('refuses a plain proxy request of a revoked client with 407', async () => {
    const temp = await rig.service.addClient('temp3', ['main']);
    const ok = await httpThrough(rig.bridge.port, `${rig.emulator.url}/drive/v1/about`, {
      proxySecret: temp,
    });
    assert.equal(ok.status, 401, 'the emulator’s answer');
    await rig.service.clients.revoke('temp3');
    const refused = await httpThrough(rig.bridge.port, `${rig.emulator.url}/drive/v1/about`, {
      proxySecret: temp,
    });
    assert.equal(refused.status, 407);
    assert.equal(refused.headers['proxy-authenticate'], 'Basic realm="pikpak-token-broker"');
  });
});
