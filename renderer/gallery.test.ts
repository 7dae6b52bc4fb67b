/** The README's composite picture, rendered on every test run into test-results/screenshots/. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pngSize } from '../scripts/ico.js';
import { renderGallery, windowShots } from './testing/gallery.js';
import { chromiumSkipReason, SCREENSHOTS, startHarness, type Harness } from './testing/harness.js';

const skip = chromiumSkipReason();

describe('composite screenshot', { skip }, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  it('windows, tray icons, menu and tooltip in one picture', async () => {
    const image = await renderGallery(harness.browser, await windowShots(harness));
    const { width, height } = pngSize(image);
    assert.ok(width > 1000 && height > 800, `${width}×${height}`);
    await mkdir(SCREENSHOTS, { recursive: true });
    await writeFile(join(SCREENSHOTS, 'overview.png'), image);
  });
});
