/**
 * The Electron entry: the tray app. The only file that imports Electron values; everything under
 * main/shell/ receives them from here. It runs the same core as the headless daemon (instance
 * lock, broker, token service) plus the AList bridge, in this main process — the only process
 * that ever refreshes — and wires the core's events to the tray, notifications and windows.
 *
 * Boot is a flat list of setup steps; IPC handlers are registered before any window exists.
 */
import * as Electron from 'electron';
import ElectronStore from 'electron-store';
import { createWriteStream, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { systemClock } from './core/ports.js';
import { createLogger } from './runtime/logger.js';
import { appConfigFromEnv } from './shell/app-config.js';
import {
  setupAppIdentity,
  setupDock,
  setupSingleInstance,
  setupWebContentsGuard,
} from './shell/app-process.js';
import { openAppSettings, type AppStoreConstructor } from './shell/app-settings.js';
import { launchedAtLogin, setStartAtLogin } from './shell/autostart.js';
import { startAppBridge } from './shell/bridge-runner.js';
import { CaptchaSolver } from './shell/captcha-window.js';
import { ShellController } from './shell/controller.js';
import { startCore } from './shell/core-runtime.js';
import type { ShellElectron } from './shell/electron-types.js';
import { ipcHandlers } from './shell/ipc-handlers.js';
import { registerIpc } from './shell/ipc-main.js';
import { Notifier } from './shell/notifier.js';
import { describeStartupFailure } from './shell/startup-error.js';
import { TrayService } from './shell/tray-service.js';
import { WindowManager } from './shell/windows.js';
import { wireShell } from './shell/wiring.js';

// The compiler checks here that Electron's modules fit the shell's small types.
const electron: ShellElectron = {
  app: Electron.app,
  BrowserWindow: Electron.BrowserWindow,
  Tray: Electron.Tray,
  Menu: Electron.Menu,
  nativeImage: Electron.nativeImage,
  Notification: Electron.Notification,
  ipcMain: Electron.ipcMain,
  shell: Electron.shell,
  clipboard: Electron.clipboard,
  dialog: Electron.dialog,
  session: Electron.session,
  nativeTheme: Electron.nativeTheme,
};
const {
  app,
  BrowserWindow,
  Tray,
  Menu,
  nativeImage,
  Notification,
  ipcMain,
  shell,
  clipboard,
  dialog,
  session,
  nativeTheme,
} = electron;

const platform = process.platform;
const root = app.getAppPath();
const buildDir = join(root, 'build');
const { runtime: config, logLevel } = appConfigFromEnv();
const log = createLogger({ level: logLevel, format: 'json', destination: logDestination() });
const autostart = {
  app,
  platform,
  execPath: process.execPath,
  env: process.env,
  homedir: homedir(),
};
const hidden = launchedAtLogin(process.argv, autostart);

const settings = openAppSettings({
  // electron-store's typings leave out options it passes on to conf (configFileMode, …).
  Store: ElectronStore as unknown as AppStoreConstructor,
  cwd: app.getPath('userData'),
  log,
});
const windows = new WindowManager({
  BrowserWindow,
  shell,
  log,
  platform,
  paths: {
    rendererDir: join(root, 'renderer'),
    preload: join(root, 'dist', 'renderer', 'preload.cjs'),
    icon: join(buildDir, 'icon.png'),
  },
});
const captcha = new CaptchaSolver({ BrowserWindow, session, shell, log });
const controller = new ShellController({
  settings,
  now: () => systemClock.now(),
  log,
  clipboard,
  windows,
  captcha,
  setStartAtLogin: (enabled) => setStartAtLogin(enabled, autostart),
  quit: () => app.quit(),
});

async function main(): Promise<void> {
  setupAppIdentity(app, platform);
  if (!setupSingleInstance(app, () => controller.openStatus())) {
    app.quit();
    return;
  }
  setupWebContentsGuard(app, { shell, log });
  setupIpc();
  setupQuit();
  await app.whenReady();
  setupDock(app, platform);
  const tray = setupTray();
  setupNotifications(tray);
  await setupCore();
  await setupAutostart();
  setupFirstWindow();
}

function setupIpc(): void {
  registerIpc(ipcHandlers(controller, windows), {
    ipcMain,
    senderKind: (event) => windows.senderKind(event),
    log,
  });
}

function setupQuit(): void {
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => undefined);
  let stopped = false;
  app.on('before-quit', (event) => {
    const core = controller.core;
    if (stopped || !core) return;
    event.preventDefault();
    windows.closeAll();
    captcha.close();
    void core
      .stop('quit')
      .catch((error: unknown) => log.error({ error: (error as Error).message }, 'stopping the broker failed'))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
}

function setupTray(): TrayService {
  const tray = new TrayService(
    {
      Tray,
      Menu,
      nativeImage,
      platform,
      buildDir,
      log,
      onAction: (action) => controller.onTrayAction(action),
    },
    {
      now: systemClock.now(),
      theme: nativeTheme.shouldUseDarkColors ? 'dark' : 'light',
      core: controller.coreState,
      accounts: [],
      requests: [],
      startAtLogin: settings.get().startAtLogin,
    },
  );
  tray.create();
  // Windows: this follows the apps' theme, which may differ from the taskbar's; both icon variants
  // are legible on either background, so a mismatch costs contrast only.
  nativeTheme.on('updated', () => tray.setTheme(nativeTheme.shouldUseDarkColors ? 'dark' : 'light'));
  // Expiry times in the tooltip and menu move on by themselves.
  setInterval(() => tray.setNow(Math.floor(systemClock.now() / 30_000) * 30_000), 30_000).unref();
  return tray;
}

function setupNotifications(tray: TrayService): void {
  const notifier = new Notifier({
    Notification,
    enabled: () => settings.get().notifications,
    openLogin: (account) => controller.openLogin(account),
    log,
    icon: join(buildDir, 'icon.png'),
  });
  wireShell({ controller, tray, notifier, windows, settings, now: () => systemClock.now() });
}

async function setupCore(): Promise<void> {
  const { bridgeEnabled, bridgePort } = settings.get();
  try {
    const core = await startCore({
      config,
      log,
      bridge: { enabled: bridgeEnabled, port: bridgePort },
      startBridge: startAppBridge,
      daemonOptions: {},
    });
    controller.attach(core);
    // A signal to the process stops the core; the app follows.
    void core.closed.then(() => app.quit());
  } catch (error) {
    const failure = describeStartupFailure(error);
    log.error({ error: failure.detail }, failure.title);
    controller.fail(failure.short);
    dialog.showErrorBox(failure.title, failure.detail);
  }
}

async function setupAutostart(): Promise<void> {
  // Re-register when on, so a moved or updated app is still the one that starts.
  if (!settings.get().startAtLogin) return;
  await setStartAtLogin(true, autostart).catch((error: unknown) =>
    log.warn({ error: (error as Error).message }, 'could not renew start at login'),
  );
}

function setupFirstWindow(): void {
  // Started at login: tray only. Started by hand: show what is going on.
  if (hidden) return;
  if (controller.core && controller.core.broker.accountNames().length === 0) controller.openLogin(null);
  else controller.openStatus();
}

/** `app.log` in the platform's log folder; in a checkout, stderr too. */
function logDestination(): NodeJS.WritableStream {
  const dir = app.getPath('logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = createWriteStream(join(dir, 'app.log'), { flags: 'a', mode: 0o600 });
  file.on('error', (error) =>
    console.error(`pikpak-token-broker: cannot write ${dir}/app.log: ${error.message}`),
  );
  if (app.isPackaged) return file;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      process.stderr.write(chunk);
      file.write(chunk, callback);
    },
  });
}

main().catch((error: unknown) => {
  log.error({ error: (error as Error).stack ?? String(error) }, 'the app failed to start');
  dialog.showErrorBox('PikPak Token Broker could not start', (error as Error).message);
  app.exit(1);
});
