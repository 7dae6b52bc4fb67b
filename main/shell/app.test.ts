/**
 * main/app.ts itself, booted under plain Node against the fake Electron (module hooks swap
 * `electron` and `electron-store`): the real core — instance lock, broker, token service on a
 * socket — in temp folders, and the whole boot sequence, second launch, start at login and quit.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { USER_DATA_FOLDER } from './app-main.js';
import { REQUESTS } from './ipc-channels.js';
import { FakeEvent, FakeIpcMain } from './testing/fake-electron.js';

const home = await mkdtemp(join(tmpdir(), 'pkb-app-'));
Object.assign(process.env, {
  PKB_TEST_APP_HOME: home,
  PIKPAK_BROKER_DATA_DIR: join(home, 'data'),
  PIKPAK_BROKER_SOCKET: join(home, 'run', 'broker.sock'),
  PIKPAK_BROKER_KEYCHAIN_SERVICE: `pkb-app-test-${process.pid}`,
  PIKPAK_BROKER_AUTH_BASE_URL: 'http://127.0.0.1:9',
  PIKPAK_BROKER_DRIVE_BASE_URL: 'http://127.0.0.1:9',
  XDG_CONFIG_HOME: join(home, 'config'),
});
// The bridge needs the OS keychain for its CA key; this test leaves the user's keychain alone.
// The app keeps its settings in <appData>/pikpak-token-broker (appData is `home` in the fake).
const userData = join(home, USER_DATA_FOLDER);
await mkdir(userData, { recursive: true });
await writeFile(join(userData, 'app-settings.json'), JSON.stringify({ bridgeEnabled: false }));

register('./testing/electron-hooks.mjs', import.meta.url);
const { fake } = await import('./testing/electron-module.js');

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('main/app.ts booted against a fake Electron', () => {
  before(async () => {
    await import('../app.js');
    // Electron emits ready once the entry module has been evaluated.
    fake.app.ready();
    await until('the first window', () => fake.windows.length > 0);
  });
  after(() => rm(home, { recursive: true, force: true }));

  it('registered every IPC handler, took the instance lock as the one refresher, serves the socket', async () => {
    assert.deepEqual(
      [...fake.ipcMain.handlers.keys()].sort(),
      Object.values(REQUESTS)
        .map((r) => r.channel)
        .sort(),
    );
    const lock = JSON.parse(await readFile(join(home, 'data', 'broker.lock'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, process.pid);
    assert.ok(existsSync(join(home, 'run', 'broker.sock')));
  });

  it('shows the tray (idle: no account yet) and, started by hand with no account, the login window', () => {
    assert.equal(fake.trays.length, 1);
    assert.match(fake.trays[0]!.image!.path, /build[/\\]tray[/\\]idle-light@2x\.png$/);
    assert.match(fake.trays[0]!.tooltip, /No PikPak account yet/);
    assert.match(fake.windows[0]!.loaded.file!, /renderer[/\\]login\.html$/);
    assert.equal(fake.windows[0]!.options.webPreferences?.sandbox, true);
    assert.match(
      String(fake.windows[0]!.options.webPreferences?.preload),
      /dist[/\\]renderer[/\\]preload\.cjs$/,
    );
  });

  it('answers the login window over IPC, and ignores a stranger', async () => {
    const status = (await fake.ipcMain.invoke(
      REQUESTS.getStatus.channel,
      FakeIpcMain.from(fake.windows[0]!),
    )) as {
      core: { state: string };
    };
    assert.equal(status.core.state, 'running');
    await assert.rejects(
      fake.ipcMain.invoke(REQUESTS.getStatus.channel, {
        sender: { id: -1 },
        senderFrame: { url: 'https://x/' },
      }),
      /refused/,
    );
  });

  it('a second launch opens the status window', () => {
    fake.app.emit('second-instance', new FakeEvent(), ['pikpak-token-broker']);
    assert.ok(fake.windows.some((w) => w.loaded.file?.endsWith('status.html')));
  });

  it('Start at login from the tray writes the XDG autostart entry and remembers it', async () => {
    fake.trays[0]!.menu!.click('Start at login');
    const entry = join(home, 'config', 'autostart', 'pikpak-token-broker.desktop');
    await until('the autostart entry', () => existsSync(entry));
    assert.match(await readFile(entry, 'utf8'), /--hidden/);
    await until('the checkbox', () => fake.trays[0]!.menu!.item('Start at login').checked === true);
    const saved = JSON.parse(await readFile(join(userData, 'app-settings.json'), 'utf8')) as {
      startAtLogin: boolean;
    };
    assert.equal(saved.startAtLogin, true);
  });

  it('Quit stops the core (socket and lock released), then quits', async () => {
    fake.trays[0]!.menu!.click('Quit');
    await until('the lock to go', () => !existsSync(join(home, 'data', 'broker.lock')));
    await until('the second quit', () => fake.app.calls.quit >= 2);
    assert.equal(existsSync(join(home, 'run', 'broker.sock')), false);
    assert.ok(fake.windows.every((w) => w.isDestroyed()));
  });
});
