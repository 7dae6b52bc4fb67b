/** The status window in real Chromium, with the preload's API faked. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

describe('status window', { skip }, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  it('accounts with their health (colour, shape and words), expiry and what to do', async () => {
    const page = await harness.open('status', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.textContent('#headline'), 'Sign-in needed: nas');
    const cards = page.locator('#accounts > li');
    assert.equal(await cards.count(), 2);
    const main = cards.nth(0);
    assert.equal(await main.locator('h3').textContent(), 'main');
    assert.equal(await main.locator('.badge').textContent(), 'Healthy');
    assert.equal(await main.locator('.badge').getAttribute('class'), 'badge health-ok');
    assert.match((await main.textContent()) ?? '', /expires in 1h 42m \(11:12 AM\)/);
    assert.match((await main.textContent()) ?? '', /me@example\.com · android/);
    const nas = cards.nth(1);
    assert.equal(await nas.locator('.badge').textContent(), 'Sign-in needed');
    assert.match(
      (await nas.locator('.notice-error').textContent()) ?? '',
      /used by another program or revoked/,
    );
    await nas.getByRole('button', { name: 'Sign in again…' }).click();
    assert.deepEqual(await calls(page, 'openLogin'), [['nas']]);
    await main.getByRole('button', { name: 'Refresh now' }).click();
    assert.deepEqual(await calls(page, 'refreshNow'), [['main']]);
    await page.waitForFunction('document.getElementById("message").textContent === "Done."');
    assert.deepEqual(pageErrors(page), []);
  });

  it('timeline, clients, the AList setup text and the bridge’s state', async () => {
    const page = await harness.open('status', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    const events = await page.locator('#timeline li .text').allTextContents();
    assert.equal(events.length, 6);
    assert.equal(events[0], '“alist-nas” asks for access to “nas” (code K7QF)');
    assert.equal(events[5], 'Broker started');
    assert.equal(
      await page.locator('#timeline li').nth(1).locator('time').textContent(),
      'Jan 15, 2026, 09:12 AM',
    );
    assert.deepEqual(await page.locator('#clients th[scope="row"]').allTextContents(), [
      'alist',
      'backup-script',
    ]);
    assert.match((await page.textContent('#clients')) ?? '', /all accounts/);
    assert.match(
      (await page.textContent('#alist-setup')) ?? '',
      /HTTPS_PROXY=http:\/\/alist:<CLIENT_SECRET>@127\.0\.0\.1:5288/,
    );
    assert.match(
      (await page.textContent('#alist-setup')) ?? '',
      /device_id +0f3a9d2b7c41e8a65d0b9e1c2f7a4d83/,
    );
    assert.match((await page.textContent('#bridge')) ?? '', /Running on 127\.0\.0\.1:5288/);
    await page.click('#setup summary');
    await page.click('#copy-setup');
    assert.equal((await calls(page, 'copyAlistSetup')).length, 1);
    await saveScreenshot(page, 'status-full', true);
  });

  it('clients: approve a request; revoke takes two clicks', async () => {
    const page = await harness.open('status', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(
      (await page.textContent('#requests')) ?? '',
      /“alist-nas” asks for a client secret for account “nas”/,
    );
    assert.match((await page.textContent('#requests')) ?? '', /Code K7QF/);
    await page.getByRole('button', { name: 'Approve' }).click();
    assert.deepEqual(await calls(page, 'approveClient'), [['5f2c9a01b3d4']]);

    const revoke = page.locator('#clients tr', { hasText: 'alist' }).first().getByRole('button');
    await revoke.click();
    assert.deepEqual(await calls(page, 'revokeClient'), [], 'the first click only asks');
    assert.equal(await revoke.textContent(), 'Revoke “alist”?');
    await revoke.click();
    assert.deepEqual(await calls(page, 'revokeClient'), [['alist']]);
  });

  it('follows what main pushes, keeping keyboard focus where it was', async () => {
    const page = await harness.open('status', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#accounts li').nth(0).getByRole('button', { name: 'Refresh now' }).focus();
    await page.evaluate(`window.__fake.push(${JSON.stringify(healthyFixture())})`);
    await page.waitForFunction('document.querySelectorAll("#accounts > li").length === 1');
    assert.match((await page.textContent('#headline')) ?? '', /Token healthy/);
    assert.equal(await page.isHidden('#requests-section'), true);
    assert.equal(await page.evaluate('document.activeElement.dataset.key'), 'refresh:main');
  });

  it('settings: start at login and notifications', async () => {
    const page = await harness.open('status', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isChecked('#start-at-login'), true);
    await page.uncheck('#start-at-login');
    await page.uncheck('#notifications');
    assert.deepEqual(await calls(page, 'setStartAtLogin'), [[false]]);
    assert.deepEqual(await calls(page, 'setNotifications'), [[false]]);
  });

  it('screenshots: the window, light and dark', async () => {
    const light = await harness.open('status', { status: statusFixture() });
    await light.waitForSelector('body[data-ready="true"]');
    await saveScreenshot(light, 'status');
    const dark = await harness.open('status', { status: statusFixture(), colorScheme: 'dark' });
    await dark.waitForSelector('body[data-ready="true"]');
    await saveScreenshot(dark, 'status-dark');
    assert.deepEqual([...pageErrors(light), ...pageErrors(dark)], []);
  });
});
