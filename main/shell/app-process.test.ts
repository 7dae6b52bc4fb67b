import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LockHeldError } from '../core/errors/index.js';
import {
  APP_ID,
  setupAppIdentity,
  setupDock,
  setupSingleInstance,
  setupWebContentsGuard,
} from './app-process.js';
import { describeStartupFailure } from './startup-error.js';
import { createFakeElectron, FakeEvent } from './testing/fake-electron.js';
import { captureLog, startShellRig } from './testing/shell-rig.js';

describe('process conventions', () => {
  it('a second launch opens the status window of the first', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      assert.equal(
        setupSingleInstance(rig.fake.electron.app, () => rig.controller.openStatus()),
        true,
      );
      assert.equal(rig.fake.windows.length, 0);
      rig.fake.app.emit('second-instance', new FakeEvent(), ['pikpak-token-broker']);
      assert.equal(rig.fake.windows.length, 1);
      assert.match(rig.fake.windows[0]!.loaded.file!, /status\.html$/);
      rig.fake.app.emit('second-instance', new FakeEvent(), ['pikpak-token-broker']);
      assert.equal(rig.fake.windows.length, 1, 'the same window comes forward');
      assert.equal(rig.fake.windows[0]!.focused, true);
    } finally {
      await rig.stop();
    }
  });

  it('the second instance itself learns it must quit', () => {
    const fake = createFakeElectron();
    fake.app.singleInstance = false;
    let opened = 0;
    assert.equal(
      setupSingleInstance(fake.electron.app, () => opened++),
      false,
    );
    assert.equal(fake.app.listenerCount('second-instance'), 0);
  });

  it('Windows gets the AppUserModelID (notifications need it); others do not', () => {
    for (const platform of ['win32', 'linux', 'darwin'] as const) {
      const fake = createFakeElectron();
      fake.app.isPackaged = true;
      setupAppIdentity(fake.electron.app, platform, 'C:\\Program Files\\PikPak Token Broker\\app.exe');
      assert.deepEqual(fake.app.calls.setAppUserModelId, platform === 'win32' ? [APP_ID] : []);
    }
  });

  it('Windows from a checkout: the executable path, which Windows accepts without a Start-menu shortcut', () => {
    const fake = createFakeElectron();
    assert.equal(fake.app.isPackaged, false, 'the fake models npm start');
    const electronExe = 'C:\\src\\broker\\node_modules\\electron\\dist\\electron.exe';
    setupAppIdentity(fake.electron.app, 'win32', electronExe);
    assert.deepEqual(fake.app.calls.setAppUserModelId, [electronExe]);
  });

  it('macOS: no Dock icon (a tray app)', () => {
    const mac = createFakeElectron();
    setupDock(mac.electron.app, 'darwin');
    assert.equal(mac.app.dock.hidden, true);
    const linux = createFakeElectron();
    setupDock(linux.electron.app, 'linux');
    assert.equal(linux.app.dock.hidden, false);
  });

  it('every web page of the process is denied webviews and new windows', async () => {
    const fake = createFakeElectron();
    setupWebContentsGuard(fake.electron.app, { shell: fake.electron.shell, log: captureLog() });
    const window = new fake.electron.BrowserWindow({});
    const contents = fake.windows[0]!.webContents;
    assert.ok(window);
    assert.deepEqual(contents.openWindow('https://example.com/'), { action: 'deny' });
    const attach = new FakeEvent();
    contents.emit('will-attach-webview', attach);
    assert.equal(attach.defaultPrevented, true);
    await Promise.resolve();
    assert.deepEqual(fake.shell.opened, ['https://example.com/']);
  });
});

describe('start-up failures', () => {
  it('another broker holds the lock: who, and what to do', () => {
    const failure = describeStartupFailure(
      new LockHeldError('/data/broker.lock', { pid: 4242, hostname: 'nas', startedAt: 0, command: 'daemon' }),
    );
    assert.equal(failure.title, 'Another PikPak Token Broker is running');
    assert.match(failure.detail, /pid 4242/);
    assert.match(failure.detail, /systemctl --user stop pikpak-token-broker/);
    assert.equal(failure.short, 'another broker runs (pid 4242, daemon)');
  });

  it('a failed core shows in the tray as an error with Quit still there', async () => {
    const rig = await startShellRig({ attach: false });
    try {
      rig.controller.fail(describeStartupFailure(new Error('boom')).short);
      const tray = rig.fake.trays[0]!;
      assert.match(tray.image!.path, /error-light@2x\.png$/);
      assert.match(tray.tooltip, /Not running: boom/);
      assert.ok(tray.menu!.labels().includes('Quit'));
      assert.equal(rig.controller.status().core.state, 'failed');
    } finally {
      await rig.stop();
    }
  });
});
