/**
 * The packaging configuration as electron-builder and Electron read it (the full build is
 * npm run package:check): the Linux desktop entry matches the windows Electron opens, and
 * `npm run dist` needs nothing filled in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { APP_ID } from '../main/shell/app-process.js';
import { PRODUCT_NAME } from '../main/shell/tray-view.js';

const ROOT = join(import.meta.dirname, '..');
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  appId: string;
  productName: string;
  asarUnpack: string[];
  publish: null;
  linux: { executableName: string; syncDesktopName: boolean; desktop?: { entry?: Record<string, string> } };
}
const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;

describe('packaging configuration', () => {
  it('Linux: the .desktop file and its StartupWMClass come from desktopName, which Electron uses as app_id', () => {
    assert.equal(pkg.desktopName, `${config.linux.executableName}.desktop`);
    assert.equal(config.linux.syncDesktopName, true);
    assert.equal(config.linux.desktop?.entry?.StartupWMClass, undefined, 'no override that could disagree');
  });

  it('names, homepage, repository, licence: what electron-builder asks for', () => {
    assert.equal(pkg.productName, PRODUCT_NAME);
    assert.equal(config.productName, PRODUCT_NAME);
    assert.equal(config.appId, APP_ID);
    assert.match(String(pkg.homepage), /^https:\/\//);
    assert.match(String((pkg.repository as { url: string }).url), /^git\+https:\/\//);
    assert.equal(pkg.license, 'MIT');
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
    assert.equal(config.publish, null, 'a build publishes nothing');
  });

  it('the tray icons are unpacked from the asar (Windows reads .ico files from disk)', () => {
    assert.ok(config.asarUnpack.includes('build/tray/**'));
  });
});
