import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { healthy, reauthRequired, type KeeperState } from '../core/keeper-state.js';
import { silentLogger } from '../core/ports.js';
import type { TrayAction } from './tray-view.js';
import { TrayService, type TrayState } from './tray-service.js';
import {
  createFakeElectron,
  type FakeMenu,
  type FakeNativeImage,
  type FakeTray,
} from './testing/fake-electron.js';
import { ROOT, startShellRig } from './testing/shell-rig.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const BUILD = join(ROOT, 'build');
const ok = healthy({
  accessExpiresAt: NOW + 3_600_000,
  refreshedAt: NOW,
  nextRefreshAt: NOW + 3_000_000,
  unsaved: false,
});
const dead = reauthRequired({ reason: 'invalid-grant', since: NOW, message: 'Rejected. Sign in again.' });

function standalone(platform: NodeJS.Platform, state: Partial<TrayState> = {}) {
  const fake = createFakeElectron();
  const actions: TrayAction[] = [];
  const service = new TrayService(
    {
      Tray: fake.electron.Tray,
      Menu: fake.electron.Menu,
      nativeImage: fake.electron.nativeImage,
      platform,
      buildDir: BUILD,
      log: silentLogger,
      onAction: (action) => actions.push(action),
      formatTime: () => '13:00',
    },
    {
      now: NOW,
      theme: 'light',
      core: { state: 'running', message: '' },
      accounts: [],
      requests: [],
      startAtLogin: false,
      ...state,
    },
  );
  service.create();
  const tray = fake.trays[0]!;
  return { fake, service, tray, actions };
}

const image = (tray: FakeTray): FakeNativeImage => tray.image!;
const menu = (tray: FakeTray): FakeMenu => tray.menu!;
const accounts = (states: Record<string, KeeperState>) =>
  Object.entries(states).map(([name, state]) => ({ name, username: 'u', state }));

describe('tray service: icon per state and platform', () => {
  it('Linux: the @2x PNG for the panel theme, switching with the state', () => {
    const { service, tray } = standalone('linux');
    assert.equal(image(tray).path, join(BUILD, 'tray', 'idle-light@2x.png'));
    service.setAccounts(accounts({ main: ok }), NOW);
    assert.equal(image(tray).path, join(BUILD, 'tray', 'ok-light@2x.png'));
    service.setAccounts(accounts({ main: dead }), NOW);
    assert.equal(image(tray).path, join(BUILD, 'tray', 'error-light@2x.png'));
    service.setTheme('dark');
    assert.equal(image(tray).path, join(BUILD, 'tray', 'error-dark@2x.png'));
    assert.equal(image(tray).isEmpty(), false, 'the file exists');
  });

  it('macOS: template images (black + alpha), marked as such', () => {
    const { service, tray } = standalone('darwin', { accounts: accounts({ main: ok }) });
    service.render();
    assert.equal(image(tray).path, join(BUILD, 'tray', 'okTemplate.png'));
    service.setAccounts(accounts({ main: dead }), NOW);
    assert.equal(image(tray).path, join(BUILD, 'tray', 'errorTemplate.png'));
    assert.equal(image(tray).template, true);
  });

  it('Windows: the multi-size .ico, and a left click opens the status window', () => {
    const { tray, actions } = standalone('win32', { accounts: accounts({ main: ok }) });
    assert.equal(image(tray).path, join(BUILD, 'tray', 'ok-light.ico'));
    tray.emit('click');
    assert.deepEqual(actions, [{ type: 'open-status' }]);
  });

  it('busy while the core starts, red when it failed', () => {
    const { service, tray } = standalone('linux', { core: { state: 'starting', message: '' } });
    assert.match(image(tray).path, /busy-light@2x\.png$/);
    service.setCore({ state: 'failed', message: 'locked' });
    assert.match(image(tray).path, /error-light@2x\.png$/);
    assert.match(tray.tooltip, /Not running: locked/);
  });
});

describe('tray service: renders only what changed', () => {
  it('setters return early when nothing changed', () => {
    const { service, tray } = standalone('linux', { accounts: accounts({ main: ok }) });
    const before = { renders: service.renders, ...tray.calls };
    service.setAccounts(accounts({ main: ok }), NOW);
    service.setStartAtLogin(false);
    service.setTheme('light');
    service.setNow(NOW);
    service.setRequests([]);
    service.setCore({ state: 'running', message: '' });
    assert.deepEqual({ renders: service.renders, ...tray.calls }, before);
  });

  it('a change that leaves the view as it was touches nothing on screen', () => {
    const { service, tray } = standalone('linux', { accounts: accounts({ main: ok }) });
    const calls = { ...tray.calls };
    service.setNow(NOW + 10); // the same minute: the same words
    assert.deepEqual(tray.calls, calls);
    service.setNow(NOW + 5 * 60_000);
    assert.equal(tray.calls.setImage, calls.setImage, 'the icon did not change');
    assert.equal(tray.calls.setToolTip, calls.setToolTip + 1);
    assert.match(tray.tooltip, /token expires in 55m/);
  });

  it('menu items send their actions', () => {
    const { tray, actions } = standalone('linux', { accounts: accounts({ main: ok, nas: dead }) });
    menu(tray).click('Re-login “nas”…');
    menu(tray).click('main');
    menu(tray).click('Copy AList setup');
    menu(tray).click('Clients…');
    menu(tray).click('Open status');
    menu(tray).click('Start at login');
    menu(tray).click('Quit');
    assert.deepEqual(actions, [
      { type: 'relogin', account: 'nas' },
      { type: 'refresh', account: 'main' },
      { type: 'copy-alist-setup' },
      { type: 'open-clients' },
      { type: 'open-status' },
      { type: 'toggle-start-at-login' },
      { type: 'quit' },
    ]);
    assert.equal(menu(tray).item('Start at login').type, 'checkbox');
    assert.equal(menu(tray).item('nas').enabled, false);
  });
});

describe('tray service wired to a real broker', () => {
  it('follows the keeper: idle → ok → error on invalid_grant, with Re-login offered', async () => {
    const rig = await startShellRig();
    try {
      const tray = rig.fake.trays[0]!;
      assert.match(image(tray).path, /idle-light@2x\.png$/);
      await rig.signIn('main');
      assert.match(image(tray).path, /ok-light@2x\.png$/);
      assert.match(tray.tooltip, /main: healthy — token expires in 1h 0m/);
      rig.revokeAllTokens();
      await rig.broker
        .keeper('main')
        .refreshNow()
        .catch(() => undefined);
      assert.equal(rig.broker.account('main').state.type, 'reauth-required');
      assert.match(image(tray).path, /error-light@2x\.png$/);
      assert.ok(menu(tray).labels().includes('Re-login “main”…'));
      menu(tray).click('Re-login “main”…');
      const login = rig.fake.windows.find((w) => w.loaded.file?.endsWith('login.html'));
      assert.deepEqual(login?.loaded.query, { account: 'main' });
    } finally {
      await rig.stop();
    }
  });

  it('Start at login: the checkbox reflects the setting and toggles it (and the OS login item)', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const tray = rig.fake.trays[0]!;
      assert.equal(menu(tray).item('Start at login').checked, false, 'off by default');
      menu(tray).click('Start at login');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(rig.settings.get().startAtLogin, true);
      assert.deepEqual(rig.autostart, [true]);
      assert.equal(menu(tray).item('Start at login').checked, true);
      menu(tray).click('Start at login');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(rig.settings.get().startAtLogin, false);
      assert.deepEqual(rig.autostart, [true, false]);
      assert.equal(menu(tray).item('Start at login').checked, false);
    } finally {
      await rig.stop();
    }
  });

  it('a checkbox that flipped itself is put back when the toggle did not change the setting', async () => {
    // Electron flips a checkbox item's tick before its click handler runs; if the toggle then
    // fails, the state is unchanged and only a re-render from state shows the truth again.
    const { tray, actions } = standalone('linux', { startAtLogin: false });
    menu(tray).click('Start at login');
    assert.deepEqual(actions, [{ type: 'toggle-start-at-login' }]);
    assert.equal(menu(tray).item('Start at login').checked, false, 'the tick says what the setting is');
  });

  it('Copy AList setup puts the setup text on the clipboard; Quit quits', async () => {
    const rig = await startShellRig({ accounts: ['main'] });
    try {
      const tray = rig.fake.trays[0]!;
      menu(tray).click('Copy AList setup');
      assert.match(rig.fake.clipboard.text, /HTTPS_PROXY=/);
      assert.match(rig.fake.clipboard.text, /Account "main" \(user@example\.com\):/);
      menu(tray).click('Quit');
      assert.equal(rig.quits, 1);
    } finally {
      await rig.stop();
    }
  });
});
