import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type Emulator } from '../../e2e/emulator/server.js';
import { Broker } from '../core/broker.js';
import { systemClock } from '../core/ports.js';
import { FakeSecretStore } from '../core/testing/fake-secret-store.js';
import { toAuthProvider } from '../pikpak/auth-provider.js';
import { createPikPakClient } from '../runtime/auth-provider.js';
import { MemorySettingsStore } from '../service/testing/memory-settings-store.js';
import { MemoryAppSettings } from './app-settings.js';
import {
  CAPTCHA_PARTITION,
  CaptchaSolver,
  captchaTokenFrom,
  isAllowedChallengeUrl,
} from './captcha-window.js';
import { ShellController } from './controller.js';
import { BridgeStatus } from './bridge-runner.js';
import { ClientRequests } from '../service/client-requests.js';
import { createFakeElectron, FakeEvent, type FakeBrowserWindow } from './testing/fake-electron.js';
import { captureLog } from './testing/shell-rig.js';

const CALLBACK = 'xlaccsdk01://xbase.cloud/callback?state=harbor&captcha_token=ck0.abc-DEF_123';

describe('captcha redirect parsing', () => {
  it('takes captcha_token from the xlaccsdk01 callback', () => {
    assert.equal(captchaTokenFrom(CALLBACK), 'ck0.abc-DEF_123');
    assert.equal(captchaTokenFrom('XLACCSDK01://xbase.cloud/callback?captcha_token=t1'), 't1');
    assert.equal(captchaTokenFrom('xlaccsdk01://xbase.cloud/callback#captcha_token=t2'), 't2');
  });
  it('ignores anything else', () => {
    assert.equal(captchaTokenFrom('https://user.mypikpak.com/?captcha_token=nope'), undefined);
    assert.equal(captchaTokenFrom('xlaccsdk01://xbase.cloud/callback?state=harbor'), undefined);
    assert.equal(captchaTokenFrom('not a url'), undefined);
  });
  it('challenge pages: https anywhere, http only on loopback', () => {
    assert.equal(isAllowedChallengeUrl('https://user.mypikpak.com/captcha?x=1'), true);
    assert.equal(isAllowedChallengeUrl('http://127.0.0.1:8787/__emulator/captcha'), true);
    assert.equal(isAllowedChallengeUrl('http://localhost:8787/'), true);
    assert.equal(isAllowedChallengeUrl('http://evil.example/'), false);
    assert.equal(isAllowedChallengeUrl('file:///etc/passwd'), false);
    assert.equal(isAllowedChallengeUrl('javascript:alert(1)'), false);
  });
});

function solver(timeoutMs?: number) {
  const fake = createFakeElectron();
  const timers: (() => void)[] = [];
  const captcha = new CaptchaSolver({
    BrowserWindow: fake.electron.BrowserWindow,
    session: fake.electron.session,
    shell: fake.electron.shell,
    log: captureLog(),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    setTimer: (fn) => {
      timers.push(fn);
      return () => void timers.splice(timers.indexOf(fn), 1);
    },
  });
  return { fake, captcha, timers };
}

describe('captcha window', () => {
  it('opens the challenge sandboxed, in its own partition, without our preload', async () => {
    const { fake, captcha } = solver();
    const result = captcha.solve('https://user.mypikpak.com/captcha/challenge?id=1');
    const window = fake.windows[0]!;
    const prefs = window.options.webPreferences!;
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.partition, CAPTCHA_PARTITION);
    assert.equal(prefs.partition?.startsWith('persist:'), false, 'nothing of it is kept on disk');
    assert.equal(prefs.preload, undefined);
    assert.equal(window.loaded.url, 'https://user.mypikpak.com/captcha/challenge?id=1');
    let granted: boolean | undefined;
    fake.sessions.get(CAPTCHA_PARTITION)!.permissionRequest!({}, 'geolocation', (g) => (granted = g));
    assert.equal(granted, false);
    window.close();
    assert.deepEqual(await result, {
      ok: false,
      reason: 'closed',
      message: 'The verification window was closed before it finished.',
    });
  });

  const catches: [
    string,
    (window: FakeBrowserWindow, session: ReturnType<typeof solver>['fake']) => boolean,
  ][] = [
    ['a server redirect (will-redirect)', (w) => w.webContents.navigate(CALLBACK, 'will-redirect')],
    ['a page navigation (will-navigate)', (w) => w.webContents.navigate(CALLBACK, 'will-navigate')],
    ['a frame navigation (will-frame-navigate)', (w) => w.webContents.frameNavigate(CALLBACK)],
    [
      'a main-frame navigation (will-frame-navigate fires for the main frame first)',
      (w) => w.webContents.frameNavigate(CALLBACK, true),
    ],
    ['window.open', (w) => w.webContents.openWindow(CALLBACK)?.action !== 'deny'],
  ];
  for (const [how, act] of catches)
    it(`catches the xlaccsdk01:// callback from ${how}, stops it, closes the window and returns the token`, async () => {
      const { fake, captcha } = solver();
      const result = captcha.solve('https://user.mypikpak.com/captcha');
      const window = fake.windows[0]!;
      const allowed = act(window, fake);
      assert.equal(allowed, false, 'the app-scheme navigation does not happen');
      assert.deepEqual(await result, { ok: true, token: 'ck0.abc-DEF_123' });
      assert.equal(window.isDestroyed(), true);
    });

  it('listens to no webRequest: Chromium never requests an unknown scheme, the navigation catch does the work', async () => {
    const { fake, captcha } = solver();
    const result = captcha.solve('https://user.mypikpak.com/captcha');
    const session = fake.sessions.get(CAPTCHA_PARTITION)!;
    assert.equal(session.beforeRequest, undefined, 'no onBeforeRequest listener (it would be dead code)');
    // The page fetches the callback: nothing reaches the network stack, nothing ends the challenge.
    assert.equal(session.request(CALLBACK), undefined);
    assert.equal(fake.windows[0]!.isDestroyed(), false);
    // The page navigates to it: caught.
    assert.equal(fake.windows[0]!.webContents.navigate(CALLBACK), false);
    assert.deepEqual(await result, { ok: true, token: 'ck0.abc-DEF_123' });
  });

  it('lets the challenge browse https and loopback pages, blocks other schemes', async () => {
    const { fake, captcha } = solver();
    const result = captcha.solve('https://user.mypikpak.com/captcha');
    const contents = fake.windows[0]!.webContents;
    assert.equal(contents.navigate('https://user.mypikpak.com/captcha/step2'), true);
    assert.equal(contents.navigate('https://captcha.example.net/slide', 'will-redirect'), true);
    assert.equal(contents.navigate('file:///etc/passwd'), false);
    assert.equal(contents.navigate('http://evil.example/'), false);
    const seen = new FakeEvent('xlaccsdk01://xbase.cloud/callback?captcha_token=late');
    contents.emit('did-start-navigation', seen);
    assert.deepEqual(await result, { ok: true, token: 'late' });
  });

  it('gives up after the timeout, and refuses a non-https challenge', async () => {
    const { fake, captcha, timers } = solver(1000);
    const result = captcha.solve('https://user.mypikpak.com/captcha');
    assert.equal(timers.length, 1);
    timers[0]!();
    assert.equal((await result).ok, false);
    assert.equal(fake.windows[0]!.isDestroyed(), true);
    const refused = await captcha.solve('http://evil.example/captcha');
    assert.deepEqual(refused.ok ? undefined : refused.reason, 'refused');
    assert.equal(fake.windows.length, 1, 'no window for it');
  });

  it('a callback without a token is a failure, not a hang', async () => {
    const { fake, captcha } = solver();
    const result = captcha.solve('https://user.mypikpak.com/captcha');
    fake.windows[0]!.webContents.navigate('xlaccsdk01://xbase.cloud/callback?state=harbor', 'will-redirect');
    const outcome = await result;
    assert.equal(outcome.ok, false);
  });
});

describe('captcha against the PikPak emulator: challenge, redirect, sign-in continues', () => {
  const USER = 'human@example.com';
  const PASSWORD = 'pw-human';
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({
      accounts: [{ username: USER, password: PASSWORD }],
      captchaChallenge: true,
    });
  });
  after(() => emulator.close());

  it('the login asks for a captcha; the window catches the real redirect; the sign-in then succeeds', async () => {
    const fake = createFakeElectron();
    const log = captureLog();
    const broker = await Broker.open({
      settings: new MemorySettingsStore(),
      secrets: new FakeSecretStore(),
      auth: toAuthProvider(createPikPakClient({ authBaseUrl: emulator.url, driveBaseUrl: emulator.url })),
      clock: systemClock,
      random: Math.random,
      log,
    });
    const captcha = new CaptchaSolver({
      BrowserWindow: fake.electron.BrowserWindow,
      session: fake.electron.session,
      shell: fake.electron.shell,
      log,
    });
    const controller = new ShellController({
      settings: new MemoryAppSettings(),
      now: () => Date.now(),
      log,
      clipboard: fake.electron.clipboard,
      windows: { open: () => undefined, close: () => undefined },
      captcha,
      setStartAtLogin: async () => undefined,
      quit: () => undefined,
    });
    const clients = {
      add: async () => undefined as never,
      get: () => undefined,
      revoke: async () => undefined,
      list: () => [],
    };
    controller.attach({
      broker,
      clients: clients as never,
      requests: new ClientRequests({ clients, accounts: () => [] }),
      bridge: BridgeStatus.off('test'),
      closed: new Promise(() => undefined),
      stop: async () => undefined,
    });
    try {
      const form = {
        account: 'human',
        username: USER,
        password: PASSWORD,
        platform: 'web' as const,
        rememberPassword: false,
      };
      const first = await controller.login(form);
      assert.equal(first.ok, false);
      assert.ok(!first.ok && first.code === 'captcha_required' && first.url, JSON.stringify(first));
      const url = (first as { url: string }).url;

      const solving = controller.solveCaptcha(url);
      const window = fake.windows[0]!;
      assert.equal(window.loaded.url, url);
      // What Chromium does when the human clicks "Verify": the form posts, the emulator answers 302.
      const id = new URL(url).searchParams.get('challenge')!;
      const solved = await fetch(`${emulator.url}/__emulator/captcha/solve`, {
        method: 'POST',
        body: new URLSearchParams({ challenge: id }),
        redirect: 'manual',
      });
      assert.equal(solved.status, 302);
      const location = solved.headers.get('location')!;
      assert.match(location, /^xlaccsdk01:\/\//);
      assert.equal(window.webContents.navigate(location, 'will-redirect'), false);
      const outcome = await solving;
      assert.ok(outcome.ok);

      const second = await controller.login({ ...form, captchaToken: outcome.token });
      assert.equal(second.ok, true, JSON.stringify(second));
      assert.equal(broker.account('human').state.type, 'healthy');
    } finally {
      await broker.stop();
    }
  });
});
