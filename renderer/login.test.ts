/** The login window in real Chromium, with the preload's API faked. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { healthyFixture, statusFixture } from './testing/fixtures.js';
import {
  calls,
  chromiumSkipReason,
  pageErrors,
  saveScreenshot,
  startHarness,
  type Harness,
} from './testing/harness.js';

const skip = chromiumSkipReason();

describe('login window', { skip }, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  async function fill(page: Page, values: { account?: string; username?: string; password?: string } = {}) {
    await page.fill('#account', values.account ?? 'main');
    await page.fill('#username', values.username ?? 'me@example.com');
    await page.fill('#password', values.password ?? 'correct horse');
    await page.selectOption('#platform', 'android');
    await page.check('#remember');
  }

  it('labels every field, starts on the account name, and has a strict CSP', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    for (const id of ['account', 'username', 'password', 'platform', 'remember'])
      assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `label for #${id}`);
    assert.equal(await page.evaluate('document.activeElement.id'), 'account');
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp ?? '', /default-src 'none'; script-src 'self'; style-src 'self'/);
    assert.match(csp ?? '', /connect-src 'none'/);
    assert.match(csp ?? '', /object-src 'none'; base-uri 'none'/);
    assert.equal(await page.evaluate('typeof require'), 'undefined', 'no Node in the page');
    await fill(page);
    await saveScreenshot(page, 'login');
    assert.deepEqual(pageErrors(page), []);
  });

  it('sign-in: progress while PikPak answers, then success (and the password is gone)', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    await page.evaluate('window.__fake.hold("login")');
    await fill(page);
    await page.click('#submit');
    await page.waitForSelector('#progress:not([hidden])');
    assert.equal(await page.textContent('#progress-text'), 'Signing in…');
    assert.equal(await page.isDisabled('#submit'), true);
    assert.equal(await page.isDisabled('#password'), true);
    assert.equal(await page.getAttribute('#login-form', 'aria-busy'), 'true');
    await saveScreenshot(page, 'login-progress');

    assert.deepEqual(await calls(page, 'login'), [
      [
        {
          account: 'main',
          username: 'me@example.com',
          password: 'correct horse',
          platform: 'android',
          rememberPassword: true,
        },
      ],
    ]);
    await page.evaluate(
      'window.__fake.release("login", {ok: true, account: "main", expiresAt: 0, message: "Signed in. The access token is valid for 2h 0m; the broker keeps it fresh from now on."})',
    );
    await page.waitForSelector('#done:not([hidden])');
    assert.match((await page.textContent('#done-text')) ?? '', /valid for 2h 0m/);
    assert.equal(await page.isHidden('#login-form'), true);
    assert.equal(await page.inputValue('#password'), '');
    assert.equal(await page.evaluate('document.activeElement.id'), 'done-title');
    await saveScreenshot(page, 'login-done');
    await page.click('#close');
    assert.equal((await calls(page, 'closeWindow')).length, 1);
  });

  it('wrong password: the error is announced, the form comes back, focus on the password', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    await page.evaluate(
      'window.__fake.reply("login", {ok: false, code: "rejected", message: "PikPak rejected the sign-in (4002 invalid_account_or_password): wrong password"})',
    );
    await fill(page, { password: 'wrong' });
    await page.click('#submit');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    assert.match((await page.textContent('#error')) ?? '', /wrong password/);
    assert.equal(await page.isEnabled('#submit'), true);
    assert.equal(await page.isHidden('#progress'), true);
    assert.equal(await page.evaluate('document.activeElement.id'), 'password');
    await saveScreenshot(page, 'login-error');
  });

  it('checks the form before asking anything', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    await page.fill('#account', 'bad name!');
    await page.click('#submit');
    assert.match((await page.textContent('#error')) ?? '', /account name/);
    assert.equal(await page.getAttribute('#account', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement.id'), 'account');
    assert.deepEqual(await calls(page, 'login'), []);
  });

  it('captcha: the page asks main to show the challenge, takes the token back and signs in with it', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    const url = 'https://user.mypikpak.com/captcha/v2/spritePuzzle.html?action=POST%3A%2Fv1%2Fauth%2Fsignin';
    await page.evaluate(
      `window.__fake.reply("login", {ok: false, code: "captcha_required", url: ${JSON.stringify(url)}, message: "PikPak wants you to solve a captcha first."})`,
    );
    await page.evaluate('window.__fake.hold("solveCaptcha")');
    await fill(page);
    await page.click('#submit');
    await page.waitForFunction('window.__fake.count("solveCaptcha") === 1');
    assert.deepEqual(await calls(page, 'solveCaptcha'), [[url]]);
    assert.match(
      (await page.textContent('#progress-text')) ?? '',
      /complete it in the window that just opened/,
    );
    await saveScreenshot(page, 'login-captcha');

    // The captcha window caught xlaccsdk01://…?captcha_token=… and main hands the token back.
    await page.evaluate('window.__fake.release("solveCaptcha", {ok: true, token: "ck0.solved-token"})');
    await page.waitForSelector('#done:not([hidden])');
    const logins = await calls(page, 'login');
    assert.equal(logins.length, 2);
    assert.equal((logins[1]![0] as { captchaToken?: string }).captchaToken, 'ck0.solved-token');
    assert.equal((logins[0]![0] as { captchaToken?: string }).captchaToken, undefined);
  });

  it('captcha window closed: the sign-in stops with a clear message', async () => {
    const page = await harness.open('login', { status: healthyFixture() });
    await page.evaluate(
      'window.__fake.reply("login", {ok: false, code: "captcha_required", url: "https://user.mypikpak.com/captcha", message: "captcha"})',
    );
    await page.evaluate(
      'window.__fake.reply("solveCaptcha", {ok: false, reason: "closed", message: "The verification window was closed before it finished."})',
    );
    await fill(page);
    await page.click('#submit');
    await page.waitForSelector('#error:not([hidden])');
    assert.match((await page.textContent('#error')) ?? '', /closed before it finished/);
    assert.equal((await calls(page, 'login')).length, 1);
  });

  it('re-login (?account=nas): details filled in and fixed, the reason shown, focus on the password', async () => {
    const page = await harness.open('login', { status: statusFixture(), query: { account: 'nas' } });
    await page.waitForFunction('document.getElementById("username").value !== ""');
    assert.equal(await page.textContent('#title'), 'Sign in again: nas');
    assert.equal(await page.inputValue('#account'), 'nas');
    assert.equal(await page.getAttribute('#account', 'readonly'), '');
    assert.equal(await page.inputValue('#username'), 'family@example.com');
    assert.equal(await page.inputValue('#platform'), 'web');
    assert.match((await page.textContent('#reauth-reason')) ?? '', /used by another program or revoked/);
    assert.equal(await page.evaluate('document.activeElement.id'), 'password');
    await page.fill('#password', 'secret');
    await saveScreenshot(page, 'login-relogin');
    await page.keyboard.press('Escape');
    assert.equal((await calls(page, 'closeWindow')).length, 1, 'Escape closes the window');
  });
});
