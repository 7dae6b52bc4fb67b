import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  INVALID_GRANT_DESCRIPTION,
  PATHS,
  PRESETS,
  type TokenResponseBody,
} from '../../main/pikpak/protocol.js';
import { startEmulator, type Emulator } from './server.js';
import { bearer, call, captchaInitForSignin, refreshRequest, signIn } from './test-client.js';

const USER = 'faulty@example.com';
const PASSWORD = 'pw';
const web = PRESETS.web;
const INVALID_GRANT = {
  error: 'invalid_grant',
  error_code: 4126,
  error_description: INVALID_GRANT_DESCRIPTION,
};

/** The next uniform draw for fault probabilities; token bytes stay random. */
let nextUniform = 0.5;
function random(bytes: number): Buffer {
  if (bytes !== 4) return randomBytes(bytes);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(Math.floor(nextUniform * 0x1_0000_0000));
  return out;
}

void describe('emulator: fault injection', () => {
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }], random });
  });
  afterEach(() => pikpak.clearFaults());
  after(() => pikpak.close());

  const fresh = (): Promise<TokenResponseBody> => signIn(pikpak.url, web, USER, PASSWORD);
  const lineageOf = (last = 1) => pikpak.stats().accounts[USER]!.refreshTokenLineage.slice(-last);

  void it('status: a foreign 5xx page before the call leaves the token alone', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'token', kind: 'status', status: 502, count: 1 });
    const res = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(res.status, 502);
    assert.equal(res.json, undefined, 'the body must not be JSON');
    assert.match(res.text, /502 Bad Gateway/);
    const retry = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(retry.status, 200, 'nothing rotated, so the same token still works');
  });

  void it('status after: PikPak rotated, then the answer was a 503', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'token', kind: 'status', status: 503, timing: 'after', count: 1 });
    const res = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(res.status, 503);
    assert.deepEqual((await refreshRequest(pikpak.url, web, tokens.refresh_token)).json, INVALID_GRANT);
  });

  void it('rate-limit: HTTP 429 with error_code 10, counted', async () => {
    const before = pikpak.stats().rateLimited;
    pikpak.setFault({ endpoint: 'captcha', kind: 'rate-limit', count: 1 });
    const res = await captchaInitForSignin(pikpak.url, web, USER, 'dev');
    assert.equal(res.status, 429);
    const body = res.json as { error: string; error_code: number; error_description: string };
    assert.equal(body.error_code, 10);
    assert.equal(body.error, 'aborted');
    assert.match(body.error_description, /操作频繁/);
    assert.equal(pikpak.stats().rateLimited, before + 1);
    assert.equal((await captchaInitForSignin(pikpak.url, web, USER, 'dev')).status, 200);
  });

  void it('delay: answers normally, late', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'about', kind: 'delay', ms: 250, count: 1 });
    const started = performance.now();
    const res = await call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 240, `answered after ${elapsed} ms`);
    const quick = performance.now();
    await call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) });
    assert.ok(performance.now() - quick < 200);
  });

  void it('drop before: the connection dies and nothing rotates', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'token', kind: 'drop', timing: 'before', count: 1 });
    await assert.rejects(refreshRequest(pikpak.url, web, tokens.refresh_token), /socket hang up|ECONNRESET/);
    assert.equal(lineageOf()[0]!.presentations, 0);
    assert.equal((await refreshRequest(pikpak.url, web, tokens.refresh_token)).status, 200);
  });

  void it('drop after: the token rotated, the answer was lost, the old token is dead', async () => {
    const tokens = await fresh();
    const refreshesBefore = pikpak.stats().refreshes;
    const reuseBefore = pikpak.stats().accounts[USER]!.reuseAttempts;
    pikpak.setFault({ endpoint: 'token', kind: 'drop', timing: 'after', count: 1 });
    await assert.rejects(refreshRequest(pikpak.url, web, tokens.refresh_token), /socket hang up|ECONNRESET/);
    assert.equal(pikpak.stats().refreshes, refreshesBefore + 1);
    const [spent, orphan] = lineageOf(2);
    assert.ok(spent!.usedAt !== undefined);
    assert.equal(orphan!.parent, spent!.id);
    assert.equal(orphan!.presentations, 0, 'nobody ever received the new token');
    assert.deepEqual((await refreshRequest(pikpak.url, web, tokens.refresh_token)).json, INVALID_GRANT);
    assert.equal(pikpak.stats().accounts[USER]!.reuseAttempts, reuseBefore + 1);
  });

  void it('garbage: HTTP 200 with a non-JSON page or JSON of the wrong shape', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'token', kind: 'garbage', count: 1 });
    const html = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(html.status, 200);
    assert.equal(html.json, undefined);
    pikpak.setFault({ endpoint: 'token', kind: 'garbage', shape: 'json', count: 1 });
    const wrongShape = await refreshRequest(pikpak.url, web, tokens.refresh_token);
    assert.equal(wrongShape.status, 200);
    assert.equal((wrongShape.json as Record<string, unknown>)['refresh_token'], undefined);
    assert.equal(
      (await refreshRequest(pikpak.url, web, tokens.refresh_token)).status,
      200,
      'nothing rotated',
    );
  });

  void it('timeout: no answer until the client gives up; the next request is served', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'files', kind: 'timeout', count: 1 });
    const started = performance.now();
    await assert.rejects(
      call(`${pikpak.url}${PATHS.files}`, {
        headers: bearer(tokens.access_token),
        signal: AbortSignal.timeout(300),
      }),
      { name: 'AbortError' },
    );
    assert.ok(performance.now() - started >= 290);
    const res = await call(`${pikpak.url}${PATHS.files}`, { headers: bearer(tokens.access_token) });
    assert.equal(res.status, 200);
  });

  void it('count strikes the next N matching requests only; other endpoints are untouched', async () => {
    const tokens = await fresh();
    pikpak.setFault({ endpoint: 'about', kind: 'status', status: 500, count: 2 });
    const about = () => call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) });
    assert.equal(
      (await call(`${pikpak.url}${PATHS.files}`, { headers: bearer(tokens.access_token) })).status,
      200,
    );
    assert.deepEqual(
      [(await about()).status, (await about()).status, (await about()).status],
      [500, 500, 200],
    );
  });

  void it('probability is drawn from the injected random', async () => {
    const tokens = await fresh();
    const about = async () =>
      (await call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) })).status;
    pikpak.setFault({ endpoint: 'about', kind: 'status', status: 503, probability: 0.3 });
    nextUniform = 0.29;
    assert.equal(await about(), 503);
    nextUniform = 0.31;
    assert.equal(await about(), 200);
    nextUniform = 0.5;
  });

  void it('"*" matches every PikPak endpoint but never the admin API', async () => {
    pikpak.setFault({ endpoint: '*', kind: 'status', status: 500 });
    assert.equal((await captchaInitForSignin(pikpak.url, web, USER, 'd')).status, 500);
    assert.equal((await call(`${pikpak.url}${PATHS.about}`)).status, 500);
    assert.equal((await call(`${pikpak.url}/__emulator/stats`)).status, 200);
  });

  void it('admin API: add, list and clear faults; reject bad specs; count injected faults', async () => {
    const injectedBefore = pikpak.stats().faultsInjected;
    const added = await call(`${pikpak.url}/__emulator/faults`, {
      json: [
        { endpoint: 'signin', kind: 'rate-limit', count: 3 },
        { endpoint: 'token', kind: 'delay', ms: 1, timing: 'after' },
      ],
    });
    assert.equal(added.status, 201, added.text);
    const listed = (await call(`${pikpak.url}/__emulator/faults`)).json as { faults: unknown[] };
    assert.equal(listed.faults.length, 2);
    const captcha = await captchaInitForSignin(pikpak.url, web, USER, 'd');
    const token = (captcha.json as { captcha_token: string }).captcha_token;
    const signin = await call(`${pikpak.url}${PATHS.signin}`, {
      json: {
        captcha_token: token,
        client_id: web.clientId,
        client_secret: web.clientSecret,
        username: USER,
        password: PASSWORD,
      },
    });
    assert.equal(signin.status, 429);
    assert.equal(pikpak.stats().faultsInjected, injectedBefore + 1);
    const cleared = await call(`${pikpak.url}/__emulator/faults`, { method: 'DELETE' });
    assert.equal(cleared.status, 200);
    assert.deepEqual(
      ((await call(`${pikpak.url}/__emulator/faults`)).json as { faults: unknown[] }).faults,
      [],
    );
    for (const bad of [
      { endpoint: 'nowhere', kind: 'drop' },
      { endpoint: 'token', kind: 'status', status: 200 },
      {},
    ]) {
      const res = await call(`${pikpak.url}/__emulator/faults`, { json: bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
    assert.throws(() => pikpak.setFault({ endpoint: 'token', kind: 'delay', ms: -1 }));
  });
});

void describe('emulator: concurrency', () => {
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }] });
  });
  after(() => pikpak.close());

  void it('1000 concurrent refreshes of one token: exactly one wins, 999 get 4126', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    // A delay widens the window so that all requests are in flight together.
    pikpak.setFault({ endpoint: 'token', kind: 'delay', ms: 50 });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => refreshRequest(pikpak.url, web, tokens.refresh_token)),
    );
    pikpak.clearFaults();
    const ok = results.filter((r) => r.status === 200);
    const rejected = results.filter((r) => r.status === 400);
    assert.equal(ok.length, 1);
    assert.equal(rejected.length, 999);
    for (const r of rejected) assert.deepEqual(r.json, INVALID_GRANT);
    const account = pikpak.stats().accounts[USER]!;
    assert.equal(account.refreshTokenLineage[0]!.presentations, 1000);
    assert.equal(account.reuseAttempts, 999);
    assert.equal(account.refreshTokenLineage.length, 2);
  });

  void it('1000 concurrent drive calls all succeed', async () => {
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        call(`${pikpak.url}${PATHS.about}`, { headers: bearer(tokens.access_token) }),
      ),
    );
    assert.ok(results.every((r) => r.status === 200));
    assert.ok(pikpak.stats().requests['about']! >= 1000);
  });
});
