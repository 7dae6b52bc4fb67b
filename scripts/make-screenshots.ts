/**
 * Writes docs/screenshots.png, the README's picture of the app (windows, tray icons, menu,
 * tooltip), with Chromium from the real pages and icons. Run: npx tsx scripts/make-screenshots.ts
 * (after scripts/make-icons.ts when the icons changed). The tests render the same picture into
 * test-results/screenshots/overview.png.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderGallery, windowShots } from '../renderer/testing/gallery.js';
import { startHarness } from '../renderer/testing/harness.js';
import { REPO } from '../renderer/testing/page-server.js';

const harness = await startHarness();
try {
  const image = await renderGallery(harness.browser, await windowShots(harness));
  await mkdir(join(REPO, 'docs'), { recursive: true });
  await writeFile(join(REPO, 'docs', 'screenshots.png'), image);
  console.log(`wrote docs/screenshots.png (${image.length} bytes)`);
} finally {
  await harness.close();
}
