import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { PATHS, PRESETS, type TokenResponseBody } from '../../main/pikpak/protocol.js';
import { startEmulator, type Emulator } from './server.js';
import {
  call,
  captchaInitForSignin,
  captchaInitSigned,
  signinRequest,
  type CaptchaAnswer,
} from './test-client.js';

const USER = 'human@example.com';
const PASSWORD = 'pw-human';
const web = PRESETS.web;
const REDIRECT = /^xlaccsdk01:\/\/xbase\.cloud\/callback\?state=harbor&captcha_token=(ck0\.[\w.-]+)$/;

void describe('emulator: captcha challenge', () => {
  let clock = 1_700_000_000_000;
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }], now: () => clock });
    const res = await call(`${pikpak.url}/__emulator/config`, { json: { captchaChallenge: true } });
    assert.equal(res.status, 200, res.text);
  });
  after(() => pikpak.close());

  async function openChallenge(device = 'dev-h'): Promise<string> {
    const res = await captchaInitForSignin(pikpak.url, web, USER, device);
    assert.equal(res.status, 200, res.text);
    const answer = res.json as CaptchaAnswer;
    assert.equal(answer.captcha_token, '');
    assert.equal(answer.expires_in, 300);
    assert.ok(answer.url.startsWith(`${pikpak.url}/__emulator/captcha?challenge=`), answer.url);
    return answer.url;
  }

  void it('sends a human to a page whose Verify ends in a redirect carrying a working captcha token', async () => {
    const url = await openChallenge();
    const page = await call(url);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.text, /<button[^>]*>Verify<\/button>/);
    assert.match(page.text, /POST:\/v1\/auth\/signin/);

    const id = new URL(url).searchParams.get('challenge')!;
    const solved = await call(`${pikpak.url}/__emulator/captcha/solve`, { form: { challenge: id } });
    assert.equal(solved.status, 302);
    const location = String(solved.headers.location);
    const match = REDIRECT.exec(location);
    assert.ok(match, location);

    const signin = await signinRequest(pikpak.url, web, USER, PASSWORD, decodeURIComponent(match[1]!));
    assert.equal(signin.status, 200, signin.text);
    assert.ok((signin.json as TokenResponseBody).refresh_token);

    const again = await call(`${pikpak.url}/__emulator/captcha/solve?challenge=${encodeURIComponent(id)}`);
    assert.equal(again.status, 404, 'a challenge is solved once');
  });

  void it('answers the redirect target in JSON for non-browser clients, bound to the device', async () => {
    const url = await openChallenge('dev-json');
    const id = new URL(url).searchParams.get('challenge')!;
    const res = await call(`${pikpak.url}/__emulator/captcha/solve?challenge=${encodeURIComponent(id)}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(res.status, 200, res.text);
    const body = res.json as { redirect: string; captcha_token: string; expires_in: number };
    assert.equal(REDIRECT.exec(body.redirect)?.[1], body.captcha_token);
    const otherDevice = await signinRequest(pikpak.url, web, USER, PASSWORD, body.captcha_token, {
      headers: { 'x-device-id': 'dev-other' },
    });
    assert.equal((otherDevice.json as { error_code: number }).error_code, 9);
    const sameDevice = await signinRequest(pikpak.url, web, USER, PASSWORD, body.captcha_token, {
      headers: { 'x-device-id': 'dev-json' },
    });
    assert.equal(sameDevice.status, 200);
  });

  void it('challenges only sign-in; signed drive actions still get a token directly', async () => {
    const res = await captchaInitSigned(pikpak.url, web, 'dev-h', 'ZN1', `GET:${PATHS.files}`, clock);
    assert.equal(res.status, 200);
    assert.match((res.json as CaptchaAnswer).captcha_token, /^ck0\./);
    assert.equal((res.json as CaptchaAnswer).url, '');
  });

  void it('expires challenges with the injected clock', async () => {
    const url = await openChallenge();
    clock += 301_000;
    const page = await call(url);
    assert.equal(page.status, 404);
    const id = new URL(url).searchParams.get('challenge')!;
    const solve = await call(`${pikpak.url}/__emulator/captcha/solve?challenge=${id}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(solve.status, 404);
  });

  void it('goes back to plain tokens when the challenge is switched off', async () => {
    pikpak.configure({ captchaChallenge: false });
    const res = await captchaInitForSignin(pikpak.url, web, USER, 'dev-h');
    assert.match((res.json as CaptchaAnswer).captcha_token, /^ck0\./);
    assert.equal((res.json as CaptchaAnswer).url, '');
  });
});
