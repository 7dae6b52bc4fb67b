/**
 * The generated tray icons, looked at pixel by pixel in Chromium: macOS template images are
 * black + alpha, every state has its own shape, and the colour icons stand out on light and
 * dark panels. Saves a picture of them (test-results/screenshots/tray-icons.png).
 */
import assert from 'node:assert/strict';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { HEALTHS } from '../main/shell/icons.js';
import { launchChromium } from '../scripts/chromium.js';
import { renderTrayIcons } from './testing/gallery.js';
import { chromiumSkipReason, SCREENSHOTS } from './testing/harness.js';
import { REPO } from './testing/page-server.js';

const skip = chromiumSkipReason();
const TRAY = join(REPO, 'build', 'tray');

interface Pixels {
  width: number;
  height: number;
  data: number[];
}

/** RGBA pixels of a PNG, as Chromium decodes it. */
async function pixels(page: Page, file: string): Promise<Pixels> {
  const url = `data:image/png;base64,${(await readFile(join(TRAY, file))).toString('base64')}`;
  return (await page.evaluate(`(async () => {
    const img = new Image();
    img.src = ${JSON.stringify(url)};
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height);
    return { width: d.width, height: d.height, data: Array.from(d.data) };
  })()`)) as Pixels;
}

const luminance = (r: number, g: number, b: number): number => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;

describe('tray icon pixels', { skip }, () => {
  let browser: Browser;
  let page: Page;
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(() => browser?.close());

  it('macOS template images are black + alpha, at 16 and 32 px', async () => {
    for (const health of HEALTHS)
      for (const [file, size] of [
        [`${health}Template.png`, 16],
        [`${health}Template@2x.png`, 32],
      ] as const) {
        const { width, data } = await pixels(page, file);
        assert.equal(width, size, file);
        let visible = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3]! === 0) continue;
          visible += 1;
          assert.ok(data[i]! <= 2 && data[i + 1]! <= 2 && data[i + 2]! <= 2, `${file}: a pixel is not black`);
        }
        assert.ok(visible > size * size * 0.2, `${file} is mostly empty`);
      }
  });

  it('each state has its own shape (the template alpha masks all differ)', async () => {
    const masks = await Promise.all(
      HEALTHS.map(async (h) =>
        (await pixels(page, `${h}Template@2x.png`)).data.filter((_, i) => i % 4 === 3),
      ),
    );
    for (let a = 0; a < masks.length; a++)
      for (let b = a + 1; b < masks.length; b++) {
        const differing = masks[a]!.filter((alpha, i) => Math.abs(alpha - masks[b]![i]!) > 128).length;
        assert.ok(differing > 40, `${HEALTHS[a]} and ${HEALTHS[b]} look alike (${differing} px differ)`);
      }
  });

  it('the colour icons stand out on their panel', async () => {
    const panels = { light: luminance(240, 240, 240), dark: luminance(38, 40, 44) };
    for (const health of HEALTHS)
      for (const theme of ['light', 'dark'] as const) {
        const { data } = await pixels(page, `${health}-${theme}@2x.png`);
        let opaque = 0;
        let contrasting = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3]! < 200) continue;
          opaque += 1;
          if (Math.abs(luminance(data[i]!, data[i + 1]!, data[i + 2]!) - panels[theme]) > 0.25)
            contrasting += 1;
        }
        assert.ok(opaque > 150, `${health}-${theme}: too few opaque pixels`);
        assert.ok(
          contrasting / opaque > 0.3,
          `${health}-${theme}: ${Math.round((100 * contrasting) / opaque)}% contrasting`,
        );
      }
  });

  it('screenshot of the icons on light and dark panels, with the menu and tooltip', async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    await writeFile(join(SCREENSHOTS, 'tray-icons.png'), await renderTrayIcons(browser));
  });
});
