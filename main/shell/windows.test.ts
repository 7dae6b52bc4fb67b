import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { captureLog } from './testing/shell-rig.js';
import {
  createFakeElectron,
  FakeEvent,
  FakeIpcMain,
  type FakeBrowserWindow,
} from './testing/fake-electron.js';
import { apiManifest, MANIFEST_SWITCH } from './ipc-channels.js';
import { secureWindowOptions, WindowManager } from './windows.js';

const RENDERER = join('/app', 'renderer');
const PRELOAD = join('/app', 'dist', 'renderer', 'preload.cjs');

function manager(platform: NodeJS.Platform = 'linux') {
  const fake = createFakeElectron();
  const log = captureLog();
  const windows = new WindowManager({
    BrowserWindow: fake.electron.BrowserWindow,
    shell: fake.electron.shell,
    log,
    platform,
    paths: { rendererDir: RENDERER, preload: PRELOAD },
  });
  return { fake, windows, log };
}

describe('secure window options (one factory)', () => {
  for (const kind of ['login', 'status', 'clients'] as const)
    it(`${kind}: context isolation, sandbox, no Node, web security, preload with only its calls`, () => {
      const options = secureWindowOptions(kind, { rendererDir: RENDERER, preload: PRELOAD });
      const prefs = options.webPreferences!;
      assert.equal(prefs.contextIsolation, true);
      assert.equal(prefs.sandbox, true);
      assert.equal(prefs.nodeIntegration, false);
      assert.equal(prefs.nodeIntegrationInWorker, false);
      assert.equal(prefs.nodeIntegrationInSubFrames, false);
      assert.equal(prefs.webSecurity, true);
      assert.equal(prefs.allowRunningInsecureContent, false);
      assert.equal(prefs.webviewTag, false);
      assert.equal(prefs.experimentalFeatures, false);
      assert.equal(prefs.navigateOnDragDrop, false);
      assert.equal(prefs.preload, PRELOAD);
      assert.equal(options.show, false, 'shown once ready, without a white flash');
      const arg = prefs.additionalArguments?.find((a) => a.startsWith(MANIFEST_SWITCH));
      assert.ok(arg);
      assert.deepEqual(JSON.parse(decodeURIComponent(arg.slice(MANIFEST_SWITCH.length))), apiManifest(kind));
    });

  it('each window kind gets only its calls', () => {
    assert.deepEqual(Object.keys(apiManifest('login').requests).sort(), [
      'closeWindow',
      'getStatus',
      'login',
      'solveCaptcha',
    ]);
    assert.deepEqual(Object.keys(apiManifest('clients').requests).sort(), [
      'approveClient',
      'closeWindow',
      'denyClient',
      'getStatus',
    ]);
    assert.ok(!('login' in apiManifest('status').requests));
    assert.deepEqual(apiManifest('clients').events, { onStatus: 'pkb:status:changed' });
  });
});

describe('windows: navigation and new windows are refused', () => {
  function opened(): { window: FakeBrowserWindow; fake: ReturnType<typeof manager>['fake'] } {
    const { fake, windows } = manager();
    windows.open('status');
    return { window: fake.windows[0]!, fake };
  }

  it('will-navigate is prevented; an https link opens in the browser instead', async () => {
    const { window, fake } = opened();
    assert.equal(window.webContents.navigate('https://example.com/help'), false);
    assert.equal(window.webContents.navigate('file:///etc/passwd'), false);
    assert.equal(window.webContents.navigate('javascript:alert(1)'), false);
    assert.equal(window.webContents.navigate('http://example.com/'), false);
    await Promise.resolve();
    assert.deepEqual(fake.shell.opened, ['https://example.com/help'], 'only https leaves, to the browser');
  });

  it('redirects and webviews are prevented', () => {
    const { window } = opened();
    assert.equal(window.webContents.navigate('https://example.com/', 'will-redirect'), false);
    const attach = new FakeEvent();
    window.webContents.emit('will-attach-webview', attach);
    assert.equal(attach.defaultPrevented, true);
  });

  it('window.open is denied; https goes to the browser, anything else nowhere', async () => {
    const { window, fake } = opened();
    assert.deepEqual(window.webContents.openWindow('https://github.com/'), { action: 'deny' });
    assert.deepEqual(window.webContents.openWindow('file:///etc/passwd'), { action: 'deny' });
    assert.deepEqual(window.webContents.openWindow('xlaccsdk01://x'), { action: 'deny' });
    await Promise.resolve();
    assert.deepEqual(fake.shell.opened, ['https://github.com/']);
  });

  it('no application menu in our windows (Linux, Windows)', () => {
    const { window } = opened();
    assert.equal(window.menu, null);
  });
});

describe('window manager', () => {
  it('an app folder with spaces: the page URL is percent-encoded and its IPC is still recognised', () => {
    const fake = createFakeElectron();
    const rendererDir = join(
      '/Applications',
      'PikPak Token Broker.app',
      'Contents',
      'Resources',
      'app.asar',
      'renderer',
    );
    const windows = new WindowManager({
      BrowserWindow: fake.electron.BrowserWindow,
      shell: fake.electron.shell,
      log: captureLog(),
      platform: 'darwin',
      paths: { rendererDir, preload: PRELOAD },
    });
    windows.open('status');
    const window = fake.windows[0]!;
    assert.match(window.webContents.getURL(), /^file:\/\/\/Applications\/PikPak%20Token%20Broker\.app\//);
    assert.equal(windows.senderKind(FakeIpcMain.from(window)), 'status');
  });

  it('loads the page from renderer/ and shows it when ready', async () => {
    const { fake, windows } = manager();
    windows.open('login', { account: 'main' });
    const window = fake.windows[0]!;
    assert.equal(window.loaded.file, join(RENDERER, 'login.html'));
    assert.deepEqual(window.loaded.query, { account: 'main' });
    assert.equal(window.visible, false);
    await Promise.resolve();
    assert.equal(window.visible, true);
  });

  it('one window per kind: opening again focuses it, reloading only when the query changed', () => {
    const { fake, windows } = manager();
    windows.open('login', { account: 'main' });
    windows.open('login', { account: 'main' });
    assert.equal(fake.windows.length, 1);
    assert.equal(fake.windows[0]!.loads, 1);
    fake.windows[0]!.minimized = true;
    windows.open('login', { account: 'nas' });
    assert.equal(fake.windows.length, 1);
    assert.equal(fake.windows[0]!.loads, 2);
    assert.equal(fake.windows[0]!.minimized, false);
    fake.windows[0]!.close();
    windows.open('login');
    assert.equal(fake.windows.length, 2, 'a closed window is made anew');
  });

  it('knows its own windows by webContents and page; anything else is a foreign sender', () => {
    const { fake, windows } = manager();
    windows.open('status');
    windows.open('clients');
    const [status, clients] = fake.windows;
    const page = (file: string) => pathToFileURL(join(RENDERER, file)).href;
    assert.equal(
      windows.senderKind({
        sender: { id: status!.webContents.id },
        senderFrame: { url: page('status.html') },
      }),
      'status',
    );
    assert.equal(
      windows.senderKind({
        sender: { id: clients!.webContents.id },
        senderFrame: { url: `${page('clients.html')}?request=x` },
      }),
      'clients',
    );
    assert.equal(
      windows.senderKind({ sender: { id: 999_999 }, senderFrame: { url: page('status.html') } }),
      undefined,
    );
    assert.equal(
      windows.senderKind({
        sender: { id: status!.webContents.id },
        senderFrame: { url: 'https://evil.example/' },
      }),
      undefined,
      'our window, but a foreign page in it',
    );
    assert.equal(
      windows.senderKind({
        sender: { id: status!.webContents.id },
        senderFrame: { url: page('clients.html') },
      }),
      undefined,
      'another page than the window’s own',
    );
    assert.equal(
      windows.senderKind({ sender: { id: status!.webContents.id }, senderFrame: null }),
      undefined,
    );
    status!.close();
    assert.equal(
      windows.senderKind({
        sender: { id: status!.webContents.id },
        senderFrame: { url: page('status.html') },
      }),
      undefined,
    );
  });

  it('broadcasts events to the windows that may receive them', () => {
    const { fake, windows } = manager();
    windows.open('status');
    windows.open('login');
    windows.broadcast('onStatus', { now: 1 } as never);
    for (const window of fake.windows)
      assert.deepEqual(window.webContents.sent, [{ channel: 'pkb:status:changed', args: [{ now: 1 }] }]);
  });
});
