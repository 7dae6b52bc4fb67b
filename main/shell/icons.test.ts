import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pngSize, readIco } from '../../scripts/ico.js';
import { allTrayIconFiles, HEALTHS, trayIconFile, trayIconPath, usesTemplateImages } from './icons.js';
import { ROOT } from './testing/shell-rig.js';

const BUILD = join(ROOT, 'build');

describe('tray icons as data: (platform, theme, health) → file', () => {
  it('macOS: template images (the @2x sibling is picked by Electron)', () => {
    assert.equal(trayIconFile({ platform: 'darwin', theme: 'dark', health: 'error' }), 'errorTemplate.png');
    assert.equal(trayIconFile({ platform: 'darwin', theme: 'light', health: 'error' }), 'errorTemplate.png');
    assert.equal(usesTemplateImages('darwin'), true);
    assert.equal(usesTemplateImages('linux'), false);
  });
  it('Windows: a multi-size .ico per theme', () => {
    assert.equal(trayIconFile({ platform: 'win32', theme: 'dark', health: 'warn' }), 'warn-dark.ico');
  });
  it('Linux (and other Unixes): the highest-scale PNG per theme', () => {
    assert.equal(trayIconFile({ platform: 'linux', theme: 'light', health: 'busy' }), 'busy-light@2x.png');
    assert.equal(trayIconFile({ platform: 'freebsd', theme: 'dark', health: 'idle' }), 'idle-dark@2x.png');
    assert.equal(
      trayIconPath('/b', { platform: 'linux', theme: 'dark', health: 'ok' }),
      join('/b', 'tray', 'ok-dark@2x.png'),
    );
  });
});

describe('generated icon files (scripts/make-icons.ts, committed)', () => {
  it('every tray icon exists, PNGs at 16 px and @2x at 32 px', () => {
    for (const file of allTrayIconFiles()) {
      const path = join(BUILD, 'tray', file);
      assert.ok(existsSync(path), `${file} is missing: run npx tsx scripts/make-icons.ts`);
      if (!file.endsWith('.png')) continue;
      const size = file.includes('@2x') ? 32 : 16;
      assert.deepEqual(pngSize(readFileSync(path)), { width: size, height: size }, file);
    }
  });

  it('each Windows .ico holds 16–64 px images, 32-bit, as PNG', () => {
    for (const health of HEALTHS)
      for (const theme of ['light', 'dark']) {
        const entries = readIco(readFileSync(join(BUILD, 'tray', `${health}-${theme}.ico`)));
        assert.deepEqual(
          entries.map((e) => e.width),
          [16, 20, 24, 32, 40, 48, 64],
        );
        for (const entry of entries) {
          assert.equal(entry.bitCount, 32);
          assert.deepEqual(pngSize(entry.data), { width: entry.width, height: entry.height });
        }
      }
  });

  it('the app icon: 1024 px PNG, Linux sizes, a Windows .ico up to 256 px', () => {
    assert.deepEqual(pngSize(readFileSync(join(BUILD, 'icon.png'))), { width: 1024, height: 1024 });
    for (const size of [16, 32, 48, 64, 128, 256, 512])
      assert.deepEqual(pngSize(readFileSync(join(BUILD, 'icons', `${size}x${size}.png`))), {
        width: size,
        height: size,
      });
    assert.deepEqual(
      readIco(readFileSync(join(BUILD, 'icon.ico'))).map((e) => e.width),
      [16, 24, 32, 48, 64, 128, 256],
    );
  });
});
