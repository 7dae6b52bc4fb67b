/**
 * Renders every icon from build/icon.svg with headless Chromium (transparent background):
 *   build/tray/<health>Template.png, <health>Template@2x.png   macOS, black + alpha
 *   build/tray/<health>-<theme>.png, -<theme>@2x.png           16 and 32 px, light and dark panels
 *   build/tray/<health>-<theme>.ico                            Windows, 16–64 px in one file
 *   build/icon.png (1024), build/icon.ico (16–256), build/icons/<n>x<n>.png   the app icon
 * Run: npx tsx scripts/make-icons.ts   (the files are committed; rerun after editing the SVG)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Health } from '../main/core/keeper-state.js';
import { HEALTHS, PANEL_THEMES, TRAY_DIR, type PanelTheme } from '../main/shell/icons.js';
import { launchChromium } from './chromium.js';
import { pngImage, writeIco } from './ico.js';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'build');

type Variant = 'template' | PanelTheme;

/** Shape colour per health and panel; the glyph is white except on amber. */
const FILL: Readonly<Record<PanelTheme, Readonly<Record<Health, string>>>> = {
  light: { ok: '#1b8f43', warn: '#e09a00', error: '#d3281f', idle: '#6b7280', busy: '#1a6fe0' },
  dark: { ok: '#34c759', warn: '#ffb224', error: '#ff5a4e', idle: '#b3b9c2', busy: '#5ea2ff' },
};

export function variables(health: Health, variant: Variant): Record<string, string> {
  if (variant === 'template') return { fill: '#000000', glyph: 'transparent', outline: 'transparent' };
  return {
    fill: FILL[variant][health],
    glyph: health === 'warn' ? '#1b1d21' : '#ffffff',
    // An outline in the panel's opposite tone keeps every shape visible on any panel colour.
    outline: variant === 'light' ? 'rgba(0, 0, 0, 0.45)' : 'rgba(255, 255, 255, 0.65)',
  };
}

const RENDER_SCRIPT = `
window.renderIcon = (symbol, size, box, vars) => {
  const stage = document.getElementById('stage');
  stage.setAttribute('width', String(size));
  stage.setAttribute('height', String(size));
  stage.setAttribute('viewBox', '0 0 ' + box + ' ' + box);
  for (const [name, value] of Object.entries(vars)) stage.style.setProperty('--' + name, value);
  stage.innerHTML = '<use href="#' + symbol + '" width="' + box + '" height="' + box + '"/>';
};`;

export async function openIconPage(page: Page, svg: string): Promise<void> {
  await page.setContent(
    `<!doctype html><html><head><style>
      html, body { margin: 0; background: transparent; }
      #source { position: absolute; left: -10000px; top: 0; width: 0; height: 0; overflow: hidden; }
      #stage { position: absolute; left: 0; top: 0; display: block; }
    </style></head><body><div id="source">${svg}</div>
    <svg id="stage" xmlns="http://www.w3.org/2000/svg"></svg><script>${RENDER_SCRIPT}</script></body></html>`,
  );
}

export async function renderIcon(
  page: Page,
  symbol: string,
  size: number,
  vars: Record<string, string> = {},
): Promise<Buffer> {
  const box = symbol === 'app' ? 512 : 32;
  await page.evaluate(
    `window.renderIcon(${JSON.stringify(symbol)}, ${size}, ${box}, ${JSON.stringify(vars)})`,
  );
  const png = await page.locator('#stage').screenshot({ omitBackground: true, type: 'png' });
  const { width, height } = pngImage(png);
  if (width !== size || height !== size)
    throw new Error(`${symbol} at ${size}px came out ${width}×${height}`);
  return png;
}

async function main(): Promise<void> {
  const svg = await readFile(join(BUILD, 'icon.svg'), 'utf8');
  const browser = await launchChromium();
  const written: string[] = [];
  const write = async (path: string, data: Buffer): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    written.push(path);
  };
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    await openIconPage(page, svg);
    const tray = join(BUILD, TRAY_DIR);
    for (const health of HEALTHS) {
      const symbol = `tray-${health}`;
      const template = variables(health, 'template');
      await write(join(tray, `${health}Template.png`), await renderIcon(page, symbol, 16, template));
      await write(join(tray, `${health}Template@2x.png`), await renderIcon(page, symbol, 32, template));
      for (const theme of PANEL_THEMES) {
        const vars = variables(health, theme);
        await write(join(tray, `${health}-${theme}.png`), await renderIcon(page, symbol, 16, vars));
        await write(join(tray, `${health}-${theme}@2x.png`), await renderIcon(page, symbol, 32, vars));
        const sizes = [16, 20, 24, 32, 40, 48, 64];
        const images = [];
        for (const size of sizes) images.push(pngImage(await renderIcon(page, symbol, size, vars)));
        await write(join(tray, `${health}-${theme}.ico`), writeIco(images));
      }
    }
    await write(join(BUILD, 'icon.png'), await renderIcon(page, 'app', 1024));
    for (const size of [16, 32, 48, 64, 128, 256, 512])
      await write(join(BUILD, 'icons', `${size}x${size}.png`), await renderIcon(page, 'app', size));
    const appIco = [];
    for (const size of [16, 24, 32, 48, 64, 128, 256])
      appIco.push(pngImage(await renderIcon(page, 'app', size)));
    await write(join(BUILD, 'icon.ico'), writeIco(appIco));
  } finally {
    await browser.close();
  }
  console.log(`wrote ${written.length} icon files under ${BUILD}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
