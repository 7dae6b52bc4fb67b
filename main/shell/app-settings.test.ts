/**
 * The app settings with the real store: electron-store's base class `conf` (electron-store itself
 * imports Electron), so the schema and the migrations run exactly as they will in the app.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Conf from 'conf';
import { DEFAULT_BRIDGE_ADDRESS } from '../bridge/index.js';
import {
  APP_SETTINGS_DEFAULTS,
  DEFAULT_BRIDGE_PORT,
  openAppSettings,
  type AppStoreOptions,
} from './app-settings.js';
import { captureLog } from './testing/shell-rig.js';

class TestStore extends Conf<Record<string, unknown>> {
  constructor(options: AppStoreOptions) {
    super({
      ...options,
      configName: options.name,
      projectVersion: options.projectVersion ?? '0.1.0',
    } as never);
  }
}

describe('app settings (electron-store schema and migrations)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-app-settings-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const open = (projectVersion?: string) =>
    openAppSettings({
      Store: TestStore,
      cwd: dir,
      log: captureLog(),
      projectVersion,
      now: () => Date.UTC(2026, 0, 1),
    });

  it('starts with the defaults: start at login off, notifications on, the bridge on its port', async () => {
    const settings = open();
    assert.deepEqual(settings.get(), APP_SETTINGS_DEFAULTS);
    assert.equal(settings.get().startAtLogin, false);
    assert.equal(settings.path, join(dir, 'app-settings.json'));
    assert.equal(
      `127.0.0.1:${DEFAULT_BRIDGE_PORT}`,
      DEFAULT_BRIDGE_ADDRESS,
      'the same port as the daemon’s bridge',
    );
  });

  it('keeps changes in a private file, and tells listeners', async () => {
    const settings = open();
    const seen: boolean[] = [];
    settings.onChange((s) => seen.push(s.startAtLogin));
    settings.set('startAtLogin', true);
    settings.set('startAtLogin', true);
    settings.setAccount('main', { notify: false });
    assert.deepEqual(seen, [true, true]);
    const again = open();
    assert.equal(again.get().startAtLogin, true);
    assert.deepEqual(again.account('main'), { notify: false });
    assert.deepEqual(again.account('other'), { notify: true });
    assert.equal((await stat(settings.path)).mode & 0o777, 0o600);
  });

  it('refuses values the schema does not allow', () => {
    const settings = open();
    assert.throws(() => settings.set('bridgePort', 80), /bridgePort/);
    assert.throws(() => settings.set('bridgePort', 70_000), /bridgePort/);
    assert.throws(() => settings.setAccount('../evil', { notify: true }), /accounts/);
    assert.equal(settings.get().bridgePort, APP_SETTINGS_DEFAULTS.bridgePort);
  });

  it('migration 0.1.0 tidies a hand-edited file so that it passes the schema', async () => {
    await writeFile(
      join(dir, 'app-settings.json'),
      JSON.stringify({
        startAtLogin: true,
        somethingOld: 1,
        accounts: { main: { notify: false, colour: 'red' }, '../x': { notify: true }, nas: 5 },
      }),
    );
    const settings = open('0.1.0');
    assert.equal(settings.get().startAtLogin, true);
    assert.deepEqual(settings.get().accounts, { main: { notify: false } });
    const raw = JSON.parse(await readFile(settings.path, 'utf8')) as Record<string, unknown>;
    assert.equal('somethingOld' in raw, false);
  });

  it('a file that fails the schema is kept aside, never silently lost; defaults are used', async () => {
    await writeFile(join(dir, 'app-settings.json'), JSON.stringify({ bridgePort: 'eighty' }));
    const log = captureLog();
    const settings = openAppSettings({ Store: TestStore, cwd: dir, log, now: () => Date.UTC(2026, 0, 1) });
    assert.equal(settings.get().bridgePort, APP_SETTINGS_DEFAULTS.bridgePort);
    const kept = (await readdir(dir)).filter((f) => f.startsWith('app-settings.json.corrupt-'));
    assert.equal(kept.length, 1);
    assert.match(await readFile(join(dir, kept[0]!), 'utf8'), /eighty/);
    assert.ok(log.lines.some((l) => l.level === 'warn'));
  });
});
