/** The client-approval dialog in real Chromium, with the preload's API faked. */
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
const REQUEST = '5f2c9a01b3d4';

describe('client approval dialog', { skip }, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  it('shows who asks for which account with the code to compare; Deny has the focus', async () => {
    const page = await harness.open('clients', { status: statusFixture(), query: { request: REQUEST } });
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(
      await page.textContent('#request-text'),
      '“alist-nas” asks for a client secret for your PikPak account “nas”.',
    );
    assert.equal(await page.textContent('#request-code'), 'K7QF');
    assert.equal(await page.textContent('#request-expires'), '09:38 AM');
    assert.equal(await page.evaluate('document.activeElement.id'), 'deny');
    await saveScreenshot(page, 'clients');
    assert.deepEqual(pageErrors(page), []);
  });

  it('approve: main is told, and the dialog says what happened', async () => {
    const page = await harness.open('clients', { status: statusFixture(), query: { request: REQUEST } });
    await page.waitForSelector('body[data-ready="true"]');
    const after = { ...statusFixture(), requests: [] };
    await page.evaluate(
      `window.__fake.reply("approveClient", {ok: true, message: "“alist-nas” may now use “nas”. Its secret goes to it once, directly."}); window.__fake.status = ${JSON.stringify(after)}`,
    );
    await page.click('#approve');
    await page.waitForSelector('#empty:not([hidden])');
    assert.deepEqual(await calls(page, 'approveClient'), [[REQUEST]]);
    assert.match((await page.textContent('#result')) ?? '', /may now use “nas”/);
    await saveScreenshot(page, 'clients-approved');
    await page.click('#close');
    assert.equal((await calls(page, 'closeWindow')).length, 1);
  });

  it('deny with the keyboard (Enter on the focused Deny)', async () => {
    const page = await harness.open('clients', { status: statusFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(`window.__fake.status = ${JSON.stringify(healthyFixture())}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#empty:not([hidden])');
    assert.deepEqual(await calls(page, 'denyClient'), [[REQUEST]]);
    assert.deepEqual(await calls(page, 'approveClient'), []);
  });

  it('nothing to decide: says so; Escape closes', async () => {
    const page = await harness.open('clients', { status: healthyFixture() });
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isVisible('#empty'), true);
    assert.equal(await page.textContent('#empty-title'), 'No program is asking');
    await page.keyboard.press('Escape');
    assert.equal((await calls(page, 'closeWindow')).length, 1);
  });
});
