/**
 * The boot and lifetime of the tray app (app-main.ts) per platform, on the fake Electron (which
 * behaves as Electron 45 documents: ready only after the entry ran, login-item facts only after
 * ready, unpackaged unless a test says otherwise) with a core from the shell rig's parts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Broker } from '../core/broker.js';
import { Secret } from '../core/secret.js';
import { FakeAuth } from '../core/testing/fake-auth.js';
import { FakeClock, seededRandom } from '../core/testing/fake-clock.js';
import { FakeSecretStore } from '../core/testing/fake-secret-store.js';
import { ClientRegistry } from '../service/client-registry.js';
import { ClientRequests } from '../service/client-requests.js';
import { MemorySettingsStore } from '../service/testing/memory-settings-store.js';
import { runApp, type RunningApp } from './app-main.js';
import type { AppStoreConstructor } from './app-settings.js';
import { BridgeStatus } from './bridge-runner.js';
import type { ShellCore } from './core-runtime.js';
import ElectronStore from './testing/electron-store-module.js';
import { createFakeElectron, FakeEvent, type FakeElectron } from './testing/fake-electron.js';
import { captureLog, ROOT, USER, PASSWORD } from './testing/shell-rig.js';

interface Booted {
  readonly fake: FakeElectron;
  readonly app: RunningApp;
  readonly stops: string[];
  readonly broker: Broker;
  readonly auth: FakeAuth;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function boot(
  platform: NodeJS.Platform,
  options: {
    accounts?: string[];
    argv?: string[];
    appPath?: string;
    packaged?: boolean;
    setup?: (fake: FakeElectron) => void;
  } = {},
): Promise<Booted> {
  const dir = await mkdtemp(join(tmpdir(), 'pkb-app-main-'));
  await mkdir(join(dir, 'userData'), { recursive: true });
  const fake = createFakeElectron({
    platform,
    ready: false,
    appPath: options.appPath ?? ROOT,
    appData: dir,
    userData: join(dir, 'userData'),
    logs: join(dir, 'logs'),
    home: dir,
  });
  fake.app.isPackaged = options.packaged ?? false;
  options.setup?.(fake);
  const clock = new FakeClock();
  const log = captureLog();
  const auth = new FakeAuth();
  const broker = await Broker.open({
    settings: new MemorySettingsStore(),
    secrets: new FakeSecretStore(),
    auth,
    clock,
    random: seededRandom(7),
    log,
  });
  for (const account of options.accounts ?? [])
    await broker.login({
      account,
      username: USER,
      password: new Secret(PASSWORD),
      platform: 'android',
      rememberPassword: false,
    });
  const clients = await ClientRegistry.open({ dataDir: join(dir, 'data'), clock, log });
  const requests = new ClientRequests({ clients, accounts: () => broker.accountNames(), clock, log });
  const stops: string[] = [];
  const core: ShellCore = {
    broker,
    clients,
    requests,
    bridge: BridgeStatus.off('Not started in tests.'),
    closed: new Promise(() => undefined),
    stop: async (reason) => void stops.push(reason ?? ''),
  };
  const app = runApp({
    electron: fake.electron,
    process: {
      platform,
      argv: options.argv ?? ['electron', '.'],
      execPath: '/opt/electron/electron',
      env: { PIKPAK_BROKER_DATA_DIR: join(dir, 'data'), PIKPAK_BROKER_LOG_LEVEL: 'silent' },
      homedir: dir,
    },
    Store: ElectronStore as unknown as AppStoreConstructor,
    startCore: async () => core,
  });
  cleanups.push(async () => {
    requests.close();
    await broker.stop();
    await clients.close();
    await rm(dir, { recursive: true, force: true });
  });
  // Electron emits ready after the entry module has run (the synchronous part of runApp).
  fake.app.ready();
  await app.booted;
  return { fake, app, stops, broker, auth };
}

const pages = (fake: FakeElectron): string[] =>
  fake.windows
    .filter((w) => !w.isDestroyed() && w.loaded.file)
    .map((w) => w.loaded.file!.split(/[/\\]/).pop()!);

describe('app boot per platform', () => {
  it('creates no window or tray before ready, and opens the first window after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-app-main-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const fake = createFakeElectron({
      ready: false,
      appPath: ROOT,
      appData: dir,
      userData: join(dir, 'userData'),
      logs: dir,
      home: dir,
    });
    const app = runApp({
      electron: fake.electron,
      process: {
        platform: 'linux',
        argv: [],
        execPath: '/e',
        env: { PIKPAK_BROKER_LOG_LEVEL: 'silent' },
        homedir: dir,
      },
      Store: ElectronStore as unknown as AppStoreConstructor,
      startCore: () => Promise.reject(new Error('no core in this test')),
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.trays.length, 0);
    assert.equal(fake.windows.length, 0);
    assert.ok(fake.ipcMain.handlers.size > 0, 'IPC handlers come before any window');
    fake.app.ready();
    await app.booted;
    assert.equal(fake.trays.length, 1);
    assert.equal(fake.dialog.errors.length, 1, 'the failed core is reported');
  });

  it('keeps its settings folder where it was before productName was set (<appData>/pikpak-token-broker)', async () => {
    const { fake } = await boot('linux', { accounts: ['main'] });
    assert.equal(fake.app.getPath('userData'), join(fake.app.getPath('appData'), 'pikpak-token-broker'));
    assert.ok(existsSync(join(fake.app.getPath('userData'), 'app-settings.json')));
  });

  it('macOS: opening the app again (activate) opens the status window', async () => {
    const { fake } = await boot('darwin', { accounts: ['main'], argv: ['electron', '.', '--hidden'] });
    assert.deepEqual(pages(fake), [], 'started hidden');
    fake.app.emit('activate', new FakeEvent(), false);
    assert.deepEqual(pages(fake), ['status.html']);
  });

  it('macOS: launched by the login item (known only after ready) it stays in the menu bar', async () => {
    const { fake } = await boot('darwin', {
      accounts: ['main'],
      setup: (f) => (f.app.loginItem = { openAtLogin: true, wasOpenedAtLogin: true }),
    });
    assert.deepEqual(pages(fake), [], 'no window at a login launch');
    const byHand = await boot('darwin', { accounts: ['main'] });
    assert.deepEqual(pages(byHand.fake), ['status.html'], 'started by hand: the status window');
  });

  it('macOS (no Dock icon): the app is made active before a window opens from the menu bar', async () => {
    const { fake } = await boot('darwin', { accounts: ['main'], argv: ['electron', '.', '--hidden'] });
    assert.deepEqual(fake.app.calls.focus, []);
    fake.trays[0]!.menu!.click('Open status');
    assert.deepEqual(fake.app.calls.focus, [{ steal: true }]);
    assert.deepEqual(pages(fake), ['status.html']);
    const linux = await boot('linux', { accounts: ['main'] });
    assert.deepEqual(linux.fake.app.calls.focus, [], 'other platforms focus the window itself');
  });

  it('Windows from a checkout: the executable path as AppUserModelID; installed: the app id', async () => {
    const checkout = await boot('win32', { accounts: ['main'] });
    assert.deepEqual(checkout.fake.app.calls.setAppUserModelId, ['/opt/electron/electron']);
    const installed = await boot('win32', {
      accounts: ['main'],
      packaged: true,
      appPath: join(ROOT, 'release-test', 'resources', 'app.asar'),
    });
    assert.deepEqual(installed.fake.app.calls.setAppUserModelId, ['io.github.pikpak-token-broker']);
  });

  it('Windows, installed: the tray icons are read from app.asar.unpacked, not from inside the asar', async () => {
    const resources = join(ROOT, 'release-test', 'resources');
    const { fake } = await boot('win32', {
      accounts: ['main'],
      packaged: true,
      appPath: join(resources, 'app.asar'),
    });
    const icon = fake.trays[0]!.image!.path;
    assert.equal(dirname(icon), join(resources, 'app.asar.unpacked', 'build', 'tray'));
    assert.match(icon, /-light\.ico$/);
    const window = fake.windows.find((w) => w.loaded.file);
    assert.equal(
      window!.loaded.file,
      join(resources, 'app.asar', 'renderer', 'status.html'),
      'pages stay in the asar',
    );
  });

  it('Windows: a click in the Action Center after a restart opens the login of the account that needs it', async () => {
    const { fake, broker, auth } = await boot('win32', {
      accounts: ['main', 'nas'],
      argv: ['electron', '.', '--hidden'],
    });
    assert.ok(fake.activationHandler, 'Notification.handleActivation is registered');
    fake.activationHandler({ type: 'click', arguments: '' });
    assert.deepEqual(pages(fake), ['status.html'], 'nothing needs a sign-in: the status window');
    fake.windows.forEach((w) => w.close());
    for (const entry of auth.issued) entry.used = true;
    await broker
      .keeper('nas')
      .refreshNow()
      .catch(() => undefined);
    assert.equal(broker.account('nas').state.type, 'reauth-required');
    fake.activationHandler({ type: 'click', arguments: '' });
    const login = fake.windows.find((w) => !w.isDestroyed() && w.loaded.file?.endsWith('login.html'));
    assert.deepEqual(login?.loaded.query, { account: 'nas' });
  });

  it('Linux and macOS register no Action Center route', async () => {
    const { fake } = await boot('linux', { accounts: ['main'] });
    assert.equal(fake.activationHandler, undefined);
  });

  it('Windows: log-off or shutdown (session-end, no before-quit) stops the core, then quits', async () => {
    const { fake, stops } = await boot('win32', { accounts: ['main'], argv: ['electron', '.', '--hidden'] });
    const quitsBefore = fake.app.calls.quit;
    fake.endSession('win32');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(stops, ['the Windows session is ending']);
    assert.ok(fake.app.calls.quit > quitsBefore);
  });

  it('Linux and macOS: powerMonitor shutdown delays the shutdown, stops the core, then quits', async () => {
    for (const platform of ['linux', 'darwin'] as const) {
      const { fake, stops } = await boot(platform, {
        accounts: ['main'],
        argv: ['electron', '.', '--hidden'],
      });
      const event = fake.endSession(platform);
      assert.equal(event.defaultPrevented, true, `${platform}: asks the system to wait`);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(stops, ['the system is shutting down']);
      assert.ok(fake.app.calls.quit >= 1);
    }
  });
});
