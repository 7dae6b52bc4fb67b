import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AUTOSTART_FILE,
  autostartEntry,
  autostartEntryPath,
  HIDDEN_FLAG,
  launchedAtLogin,
  quoteExecArgument,
  setStartAtLogin,
} from './autostart.js';
import { StartAtLoginUnavailableError } from './errors/start-at-login-unavailable-error.js';
import { createFakeElectron } from './testing/fake-electron.js';

/** The installed app unless `packaged` is false (a checkout under `npm start`). */
function deps(
  platform: NodeJS.Platform,
  env: Record<string, string> = {},
  homedir = '/home/me',
  packaged = true,
) {
  const fake = createFakeElectron({ appPath: '/src/pikpak token broker' });
  fake.app.isPackaged = packaged;
  return {
    fake,
    deps: {
      app: fake.electron.app,
      platform,
      execPath: '/opt/PikPak Token Broker/pikpak-token-broker',
      env,
      homedir,
    },
  };
}

describe('start at login', () => {
  it('macOS: a login item, nothing else', async () => {
    const { fake, deps: d } = deps('darwin');
    await setStartAtLogin(true, d);
    await setStartAtLogin(false, d);
    assert.deepEqual(fake.app.calls.setLoginItemSettings, [{ openAtLogin: true }, { openAtLogin: false }]);
  });

  it('Windows: a Run entry for this executable that starts it hidden', async () => {
    const { fake, deps: d } = deps('win32');
    await setStartAtLogin(true, d);
    assert.deepEqual(fake.app.calls.setLoginItemSettings, [
      { openAtLogin: true, path: d.execPath, args: [HIDDEN_FLAG] },
    ]);
  });

  it('Linux: an XDG autostart entry, written and removed', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pkb-autostart-'));
    try {
      const { fake, deps: d } = deps('linux', { XDG_CONFIG_HOME: join(home, 'config') }, home);
      const path = join(home, 'config', 'autostart', AUTOSTART_FILE);
      assert.equal(autostartEntryPath(d), path);
      await setStartAtLogin(true, d);
      const entry = await readFile(path, 'utf8');
      assert.match(entry, /^\[Desktop Entry\]\nType=Application\n/);
      assert.match(entry, /^Exec="\/opt\/PikPak Token Broker\/pikpak-token-broker" --hidden$/m);
      assert.equal((await stat(path)).mode & 0o022, 0, 'nobody else may change what starts at login');
      await setStartAtLogin(false, d);
      await assert.rejects(stat(path), { code: 'ENOENT' });
      await setStartAtLogin(false, d); // already gone: fine
      assert.deepEqual(fake.app.calls.setLoginItemSettings, [], 'Electron has no Linux login items');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('Linux: an AppImage starts the AppImage file, not its temporary mount; ~/.config by default', () => {
    const { deps: d } = deps('linux', { APPIMAGE: '/home/me/Apps/PikPak.AppImage' });
    assert.equal(autostartEntryPath(d), '/home/me/.config/autostart/pikpak-token-broker.desktop');
    assert.match(autostartEntry(d.env.APPIMAGE!), /^Exec="\/home\/me\/Apps\/PikPak\.AppImage" --hidden$/m);
  });

  it('from a checkout (unpackaged) the app folder is passed to Electron: Linux and Windows', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pkb-autostart-'));
    try {
      const linux = deps('linux', { XDG_CONFIG_HOME: join(home, 'config') }, home, false);
      await setStartAtLogin(true, linux.deps);
      const entry = await readFile(join(home, 'config', 'autostart', AUTOSTART_FILE), 'utf8');
      assert.match(
        entry,
        /^Exec="\/opt\/PikPak Token Broker\/pikpak-token-broker" "\/src\/pikpak token broker" --hidden$/m,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
    const windows = deps('win32', {}, '/home/me', false);
    await setStartAtLogin(true, windows.deps);
    assert.deepEqual(windows.fake.app.calls.setLoginItemSettings, [
      {
        openAtLogin: true,
        path: windows.deps.execPath,
        args: ['"/src/pikpak token broker"', HIDDEN_FLAG],
      },
    ]);
  });

  it('macOS from a checkout: refused with a clear reason (a login item takes no arguments)', async () => {
    const mac = deps('darwin', {}, '/home/me', false);
    await assert.rejects(setStartAtLogin(true, mac.deps), StartAtLoginUnavailableError);
    assert.deepEqual(mac.fake.app.calls.setLoginItemSettings, [], 'bare Electron is not registered');
    await setStartAtLogin(false, mac.deps);
    assert.deepEqual(mac.fake.app.calls.setLoginItemSettings, [{ openAtLogin: false }], 'turning off works');
  });

  it('quotes Exec arguments per the Desktop Entry spec', () => {
    assert.equal(quoteExecArgument('/a b/c"d$e`f\\g'), '"/a b/c\\"d\\$e\\`f\\\\g"');
  });

  it('macOS: wasOpenedAtLogin reads false before ready (the launch event is not known yet)', () => {
    const fake = createFakeElectron({ ready: false });
    fake.app.loginItem = { openAtLogin: true, wasOpenedAtLogin: true };
    const d = { app: fake.electron.app, platform: 'darwin' as const };
    assert.equal(launchedAtLogin(['electron', '.'], d), false, 'read too early');
    fake.app.ready();
    assert.equal(launchedAtLogin(['electron', '.'], d), true);
  });

  it('a launch by the login item is recognised (then the app stays in the tray)', () => {
    const mac = deps('darwin');
    assert.equal(launchedAtLogin(['electron', '.'], mac.deps), false);
    mac.fake.app.loginItem = { openAtLogin: true, wasOpenedAtLogin: true };
    assert.equal(launchedAtLogin(['electron', '.'], mac.deps), true);
    const linux = deps('linux');
    assert.equal(launchedAtLogin(['/opt/app', HIDDEN_FLAG], linux.deps), true);
    assert.equal(launchedAtLogin(['/opt/app'], linux.deps), false);
  });
});
