/**
 * PikPakClient over real HTTP(S) against the project's PikPak emulator (e2e/emulator): sign-in
 * with captcha, single-use refresh rotation, access-token expiry, the captcha challenge, every
 * fault the emulator can inject, HTTPS with the emulator's CA, and both PikPak host families
 * (`user.mypikpak.com` / `.net`) resolved to 127.0.0.1 through the agents' DNS `lookup`.
 */
import assert from 'node:assert/strict';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';

import { startEmulator, type Emulator } from '../../e2e/emulator/server.js';
import { Secret } from '../core/secret.js';
import { PikPakClient, type PikPakClientOptions } from './client.js';
import {
  AccessTokenExpiredError,
  CaptchaExpiredError,
  CaptchaRequiredError,
  InvalidGrantError,
  PikPakRejectedError,
  RateLimitedError,
  TransientError,
  type PikPakError,
} from './errors/index.js';
import { INVALID_GRANT_DESCRIPTION, captchaAction, defaultDeviceId, type Platform } from './protocol.js';

const USER = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const DEVICE = defaultDeviceId(USER, PASSWORD);

async function rejectsWith<T extends PikPakError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

function signInParams(platform: Platform = 'web', password = PASSWORD) {
  return { platform, username: USER, password: new Secret(password), deviceId: DEVICE };
}

describe('provider ↔ emulator over HTTP', () => {
  let emu: Emulator;
  let clock = Date.now();
  let pikpak: PikPakClient;
  const httpAgent = new HttpAgent({ keepAlive: true });

  before(async () => {
    emu = await startEmulator({
      port: 0,
      accessTtlSeconds: 600,
      accounts: [{ username: USER, password: PASSWORD }],
      now: () => clock,
    });
    pikpak = clientFor(emu.url);
  });
  afterEach(() => {
    emu.clearFaults();
    emu.configure({ requireCaptcha: true, captchaChallenge: false, accessTtlSeconds: 600 });
  });
  after(async () => {
    httpAgent.destroy();
    await emu.close();
  });

  function clientFor(url: string, options: PikPakClientOptions = {}): PikPakClient {
    return new PikPakClient({ authBaseUrl: url, driveBaseUrl: url, httpAgent, proxy: false, ...options });
  }

  it('signs in with a captcha token (email username) and gets opaque tokens', async () => {
    const before = emu.stats();
    const tokens = await pikpak.signInWithCaptcha(signInParams());
    const stats = emu.stats();
    assert.equal(stats.captchaInits - before.captchaInits, 1);
    assert.equal(stats.signins - before.signins, 1);
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(tokens.expiresInSec, 600);
    assert.equal(tokens.userId, stats.accounts[USER]!.userId);
    const lineage = stats.accounts[USER]!.refreshTokenLineage;
    assert.equal(lineage.at(-1)!.id, tokens.refreshToken.fingerprint());
    assert.equal(lineage.at(-1)!.issuedBy, 'signin');
    await pikpak.checkAccessToken({ platform: 'web', accessToken: tokens.accessToken, deviceId: DEVICE });
  });

  it('a wrong password → PikPakRejectedError', async () => {
    const before = emu.stats();
    const err = await rejectsWith(
      pikpak.signInWithCaptcha(signInParams('web', 'wrong')),
      PikPakRejectedError,
    );
    assert.equal(err.error, 'invalid_account_or_password');
    assert.equal(err.httpStatus, 400);
    assert.match(err.message, /^PikPak rejected the sign-in \(invalid_account_or_password, \d+\)/);
    assert.equal(emu.stats().signinFailures - before.signinFailures, 1);
    assert.equal(emu.stats().signins, before.signins);
  });

  it('a sign-in without a captcha token → CaptchaExpiredError (9)', async () => {
    const err = await rejectsWith(pikpak.signIn(signInParams()), CaptchaExpiredError);
    assert.equal(err.pikpakCode, 9);
  });

  it('refresh rotates: A → B; A again → InvalidGrantError (4126); B still works', async () => {
    const a = (await pikpak.signInWithCaptcha(signInParams('android'))).refreshToken;
    const before = emu.stats();
    const b = (await pikpak.refresh({ platform: 'android', refreshToken: a, deviceId: DEVICE })).refreshToken;
    assert.ok(!b.equals(a), 'a new refresh token');
    assert.equal(emu.stats().refreshes - before.refreshes, 1);

    const err = await rejectsWith(
      pikpak.refresh({ platform: 'android', refreshToken: a }),
      InvalidGrantError,
    );
    assert.equal(err.pikpakCode, 4126);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.message, `PikPak rejected the refresh token (4126): ${INVALID_GRANT_DESCRIPTION}`);
    assert.equal(emu.stats().invalidGrants - before.invalidGrants, 1);

    const c = await pikpak.refresh({ platform: 'android', refreshToken: b });
    const lineage = emu.stats().accounts[USER]!.refreshTokenLineage;
    const entry = lineage.find((e) => e.id === c.refreshToken.fingerprint());
    assert.equal(entry?.parent, b.fingerprint());
    assert.equal(lineage.find((e) => e.id === b.fingerprint())?.parent, a.fingerprint());
  });

  it('a refresh token is bound to its client: refreshing with another platform → InvalidGrantError', async () => {
    const tokens = await pikpak.signInWithCaptcha(signInParams('pc'));
    await rejectsWith(
      pikpak.refresh({ platform: 'web', refreshToken: tokens.refreshToken }),
      InvalidGrantError,
    );
  });

  it('an answer lost after PikPak rotated: TransientError(network), then the old token is dead', async () => {
    const a = (await pikpak.signInWithCaptcha(signInParams())).refreshToken;
    emu.setFault({ endpoint: 'token', kind: 'drop', timing: 'after', count: 1 });
    const lost = await rejectsWith(pikpak.refresh({ platform: 'web', refreshToken: a }), TransientError);
    assert.equal(lost.reason, 'network');
    await rejectsWith(pikpak.refresh({ platform: 'web', refreshToken: a }), InvalidGrantError);
  });

  it('access token: accepted, then expired by the clock → AccessTokenExpiredError', async () => {
    emu.configure({ accessTtlSeconds: 60 });
    const tokens = await pikpak.signInWithCaptcha(signInParams());
    assert.equal(tokens.expiresInSec, 60);
    const params = { platform: 'web' as const, accessToken: tokens.accessToken, deviceId: DEVICE };
    await pikpak.checkAccessToken(params);
    clock += 61_000;
    const err = await rejectsWith(pikpak.checkAccessToken(params), AccessTokenExpiredError);
    assert.equal(err.pikpakCode, 16);
    assert.equal(err.httpStatus, 401);
    await rejectsWith(
      pikpak.checkAccessToken({ ...params, accessToken: new Secret('never-issued') }),
      AccessTokenExpiredError,
    );
  });

  it('captcha after sign-in: the emulator accepts our captcha_sign for every platform', async () => {
    for (const platform of ['android', 'web', 'pc'] as const) {
      const tokens = await pikpak.signInWithCaptcha(signInParams(platform));
      const grant = await pikpak.captchaAfterSignin({
        platform,
        deviceId: DEVICE,
        userId: tokens.userId,
        action: captchaAction('GET', '/drive/v1/files'),
        accessToken: tokens.accessToken,
      });
      assert.match(grant.captchaToken.reveal(), /^ck0\./);
      assert.equal(grant.expiresIn, 300);
    }
  });

  it('a captcha challenge → CaptchaRequiredError(url); the solved token then signs in without an init', async () => {
    emu.configure({ captchaChallenge: true });
    const before = emu.stats();
    const err = await rejectsWith(pikpak.signInWithCaptcha(signInParams()), CaptchaRequiredError);
    assert.ok(err.url.startsWith(`${emu.url}/__emulator/captcha?challenge=`), err.url);
    assert.equal(emu.stats().signins, before.signins, 'no sign-in attempt after a challenge');
    assert.equal(
      (emu.stats().requests['captcha'] ?? 0) - (before.requests['captcha'] ?? 0),
      1,
      'never loops',
    );

    const solve = new URL(err.url);
    solve.pathname = '/__emulator/captcha/solve';
    const solved = (await (await fetch(solve, { headers: { accept: 'application/json' } })).json()) as {
      captcha_token: string;
    };
    const inits = emu.stats().captchaInits;
    const tokens = await pikpak.signInWithCaptcha({ ...signInParams(), captchaToken: solved.captcha_token });
    assert.equal(tokens.userId, emu.stats().accounts[USER]!.userId);
    assert.equal(emu.stats().captchaInits, inits, 'the solved token skipped the captcha init');
  });

  it('rate limiting → RateLimitedError (10, HTTP 429)', async () => {
    const tokens = await pikpak.signInWithCaptcha(signInParams());
    emu.setFault({ endpoint: 'token', kind: 'rate-limit', count: 1 });
    const err = await rejectsWith(
      pikpak.refresh({ platform: 'web', refreshToken: tokens.refreshToken }),
      RateLimitedError,
    );
    assert.equal(err.pikpakCode, 10);
    assert.equal(err.httpStatus, 429);
    assert.equal(err.retryable, true);
  });

  it('a 5xx error page → TransientError(server)', async () => {
    emu.setFault({ endpoint: 'token', kind: 'status', status: 503, count: 1 });
    const err = await rejectsWith(
      pikpak.refresh({ platform: 'web', refreshToken: new Secret('x') }),
      TransientError,
    );
    assert.equal(err.reason, 'server');
    assert.equal(err.httpStatus, 503);
  });

  it('a 502 carrying PikPak JSON with an unknown code → TransientError(server) with the code', async () => {
    emu.setFault({
      endpoint: 'signin',
      kind: 'status',
      status: 502,
      body: JSON.stringify({ error: 'internal', error_code: 13, error_description: 'upstream' }),
      count: 1,
    });
    const err = await rejectsWith(pikpak.signInWithCaptcha(signInParams()), TransientError);
    assert.equal(err.reason, 'server');
    assert.equal(err.pikpakCode, 13);
  });

  for (const shape of ['text', 'json'] as const) {
    it(`a 200 with garbage (${shape}) → TransientError(bad-response)`, async () => {
      emu.setFault({ endpoint: 'token', kind: 'garbage', shape, count: 1 });
      const err = await rejectsWith(
        pikpak.refresh({ platform: 'web', refreshToken: new Secret('x') }),
        TransientError,
      );
      assert.equal(err.reason, 'bad-response');
      assert.equal(err.httpStatus, 200);
    });
  }

  it('garbage on captcha init and on the token check → TransientError(bad-response)', async () => {
    emu.setFault({ endpoint: 'captcha', kind: 'garbage', count: 1 });
    const captcha = await rejectsWith(pikpak.signInWithCaptcha(signInParams()), TransientError);
    assert.equal(captcha.reason, 'bad-response');
    const tokens = await pikpak.signInWithCaptcha(signInParams());
    emu.setFault({ endpoint: 'about', kind: 'garbage', count: 1 });
    const about = await rejectsWith(
      pikpak.checkAccessToken({ platform: 'web', accessToken: tokens.accessToken, deviceId: DEVICE }),
      TransientError,
    );
    assert.equal(about.reason, 'bad-response');
  });

  it('a dropped connection → TransientError(network)', async () => {
    emu.setFault({ endpoint: 'token', kind: 'drop', count: 1 });
    const err = await rejectsWith(
      pikpak.refresh({ platform: 'web', refreshToken: new Secret('x') }),
      TransientError,
    );
    assert.equal(err.reason, 'network');
    assert.match(err.message, /ECONNRESET/);
  });

  it('no answer at all, with a small timeoutMs → TransientError(timeout)', async () => {
    emu.setFault({ endpoint: 'token', kind: 'timeout', count: 1 });
    const quick = clientFor(emu.url, { timeoutMs: 300 });
    const started = Date.now();
    const err = await rejectsWith(
      quick.refresh({ platform: 'web', refreshToken: new Secret('x') }),
      TransientError,
    );
    assert.equal(err.reason, 'timeout');
    assert.ok(Date.now() - started < 3000, 'gave up near timeoutMs');
    assert.match(err.message, /within 300 ms/);
  });

  it('an answer delayed beyond timeoutMs → TransientError(timeout)', async () => {
    emu.setFault({ endpoint: 'signin', kind: 'delay', ms: 2000, count: 1 });
    const quick = clientFor(emu.url, { timeoutMs: 300 });
    const err = await rejectsWith(quick.signInWithCaptcha(signInParams()), TransientError);
    assert.equal(err.reason, 'timeout');
  });

  it('a delay shorter than timeoutMs is just slow, not an error', async () => {
    emu.setFault({ endpoint: 'signin', kind: 'delay', ms: 100, count: 1 });
    const tokens = await clientFor(emu.url, { timeoutMs: 2000 }).signInWithCaptcha(signInParams());
    assert.equal(tokens.tokenType, 'Bearer');
  });
});

/** Resolves PikPak's host names (only) to the loopback emulator, and records what was asked. */
function loopbackLookup(asked: string[]): LookupFunction {
  return (hostname, options, callback) => {
    asked.push(hostname);
    if (!/^(user|api-drive)\.mypikpak\.(com|net)$/.test(hostname)) {
      callback(Object.assign(new Error(`unexpected host ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    if (options.all)
      (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: '127.0.0.1', family: 4 },
      ]);
    else callback(null, '127.0.0.1', 4);
  };
}

describe('provider ↔ emulator over HTTPS and real PikPak host names', () => {
  let emu: Emulator;
  const hostsSeen: string[] = [];

  before(async () => {
    emu = await startEmulator({
      port: 0,
      https: true,
      accounts: [{ username: USER, password: PASSWORD }],
      log: (line) => {
        const match = /^(?:GET|POST) (\S+?)\/(?:v1|drive)\//.exec(line);
        if (match) hostsSeen.push(match[1]!);
      },
    });
  });
  after(() => emu.close());

  it('HTTPS to 127.0.0.1 trusting the emulator’s CA: sign-in, refresh, token check', async () => {
    assert.ok(emu.httpsUrl && emu.caCertPem);
    const httpsAgent = new HttpsAgent({ ca: emu.caCertPem });
    try {
      const pikpak = new PikPakClient({
        authBaseUrl: emu.httpsUrl,
        driveBaseUrl: emu.httpsUrl,
        httpsAgent,
        proxy: false,
      });
      const tokens = await pikpak.signInWithCaptcha(signInParams());
      const next = await pikpak.refresh({ platform: 'web', refreshToken: tokens.refreshToken });
      await pikpak.checkAccessToken({ platform: 'web', accessToken: next.accessToken, deviceId: DEVICE });
    } finally {
      httpsAgent.destroy();
    }
  });

  it('HTTPS without trusting the CA → TransientError(network) naming the TLS failure', async () => {
    const pikpak = new PikPakClient({
      authBaseUrl: emu.httpsUrl,
      proxy: false,
      httpsAgent: new HttpsAgent(),
    });
    const err = await rejectsWith(
      pikpak.refresh({ platform: 'web', refreshToken: new Secret('x') }),
      TransientError,
    );
    assert.equal(err.reason, 'network');
    assert.match(err.message, /TLS: [A-Z_]+/);
  });

  for (const tld of ['com', 'net'] as const) {
    it(`user.mypikpak.${tld} / api-drive.mypikpak.${tld}: correct Host and SNI, full flow`, async () => {
      const port = new URL(emu.httpsUrl!).port;
      const asked: string[] = [];
      const httpsAgent = new HttpsAgent({ ca: emu.caCertPem, lookup: loopbackLookup(asked) });
      hostsSeen.length = 0;
      try {
        const pikpak = new PikPakClient({
          authBaseUrl: `https://user.mypikpak.${tld}:${port}`,
          driveBaseUrl: `https://api-drive.mypikpak.${tld}:${port}`,
          httpsAgent,
          proxy: false,
        });
        const tokens = await pikpak.signInWithCaptcha(signInParams());
        const next = await pikpak.refresh({ platform: 'web', refreshToken: tokens.refreshToken });
        await pikpak.checkAccessToken({ platform: 'web', accessToken: next.accessToken, deviceId: DEVICE });
      } finally {
        httpsAgent.destroy();
      }
      // The TLS certificate was verified for these names (SAN) and the Host header carried them.
      assert.ok(asked.includes(`user.mypikpak.${tld}`), `lookups: ${asked.join(', ')}`);
      assert.ok(asked.includes(`api-drive.mypikpak.${tld}`), `lookups: ${asked.join(', ')}`);
      assert.deepEqual(hostsSeen, [
        `user.mypikpak.${tld}:${port}`, // captcha init
        `user.mypikpak.${tld}:${port}`, // sign-in
        `user.mypikpak.${tld}:${port}`, // refresh
        `api-drive.mypikpak.${tld}:${port}`, // about
      ]);
    });
  }

  it('plain HTTP with the .net host names (Host header through an http agent lookup)', async () => {
    const port = new URL(emu.url).port;
    const asked: string[] = [];
    const httpAgent = new HttpAgent({ lookup: loopbackLookup(asked) });
    hostsSeen.length = 0;
    try {
      const pikpak = new PikPakClient({
        authBaseUrl: `http://user.mypikpak.net:${port}`,
        driveBaseUrl: `http://api-drive.mypikpak.net:${port}`,
        httpAgent,
        proxy: false,
      });
      const tokens = await pikpak.signInWithCaptcha(signInParams());
      await pikpak.checkAccessToken({ platform: 'web', accessToken: tokens.accessToken, deviceId: DEVICE });
    } finally {
      httpAgent.destroy();
    }
    assert.deepEqual(hostsSeen, [
      `user.mypikpak.net:${port}`,
      `user.mypikpak.net:${port}`,
      `api-drive.mypikpak.net:${port}`,
    ]);
  });
});
