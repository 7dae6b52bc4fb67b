/**
 * The tray app's boot and lifetime, given Electron's modules and the process's facts (main/app.ts
 * hands in the real ones; tests hand in the fake Electron and any platform). It runs the same
 * core as the headless daemon (instance lock, broker, token service) plus the AList bridge, in
 * this main process — the only process that ever refreshes — and wires the core's events to the
 * tray, notifications and windows.
 *
 * Boot is a flat list of setup steps; IPC handlers are registered before any window exists, and
 * everything that depends on how the app was launched is read after `ready`.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { systemClock, type Logger } from '../core/ports.js';
import { createLogger } from '../runtime/logger.js';
import { appConfigFromEnv } from './app-config.js';
import { appPaths } from './app-paths.js';
import { setupAppIdentity, setupDock, setupSingleInstance, setupWebContentsGuard } from './app-process.js';
import { openAppSettings, type AppStoreConstructor } from './app-settings.js';
import { launchedAtLogin, setStartAtLogin, type AutostartDeps } from './autostart.js';
import { startAppBridge } from './bridge-runner.js';
import { CaptchaSolver } from './captcha-window.js';
import { ShellController } from './controller.js';
import { startCore, type ShellCore } from './core-runtime.js';
import type { ShellElectron } from './electron-types.js';
import { ipcHandlers } from './ipc-handlers.js';
import { registerIpc } from './ipc-main.js';
import { Notifier } from './notifier.js';
import { watchSessionEnd } from './session-end.js';
import { describeStartupFailure } from './startup-error.js';
import { TrayService } from './tray-service.js';
import { WindowManager } from './windows.js';
import { useKeyringHostSpawner } from '../storage/keyring-host-client.js';
import { utilityKeyringHostSpawner } from './keyring-utility-host.js';
import { wireShell } from './wiring.js';

/**
 * The app's own folder under the platform's app-data folder. Electron would name it after
 * productName ("PikPak Token Broker"); it stays where releases without productName kept it, so
 * app-settings.json is found again after an update.
 */
export const USER_DATA_FOLDER = 'pikpak-token-broker';

export interface AppProcess {
  readonly platform: NodeJS.Platform;
  readonly argv: readonly string[];
  readonly execPath: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
}

export interface RunAppDeps {
  readonly electron: ShellElectron;
  readonly process: AppProcess;
  readonly Store: AppStoreConstructor;
  /** The core; by default the daemon's, configured from PIKPAK_BROKER_* (tests pass their own). */
  readonly startCore?: (log: Logger, bridge: { enabled: boolean; port: number }) => Promise<ShellCore>;
}

export interface RunningApp {
  readonly controller: ShellController;
  /** Resolves when boot has finished (the first window decided). */
  readonly booted: Promise<void>;
}

export function runApp(deps: RunAppDeps): RunningApp {
  const { electron, process: proc } = deps;
  const { app, BrowserWindow, Tray, Menu, nativeImage, Notification, ipcMain } = electron;
  const { shell, clipboard, dialog, session, nativeTheme, powerMonitor } = electron;
  const platform = proc.platform;
  // Before anything reads it: the single-instance lock lives there too.
  app.setPath('userData', join(app.getPath('appData'), USER_DATA_FOLDER));
  const paths = appPaths(app.getAppPath(), app.isPackaged);
  const { runtime: config, logLevel } = appConfigFromEnv(proc.env, proc.homedir);
  const log = createLogger({ level: logLevel, format: 'json', destination: logDestination() });
  const autostart: AutostartDeps = {
    app,
    platform,
    execPath: proc.execPath,
    env: proc.env,
    homedir: proc.homedir,
  };

  const settings = openAppSettings({ Store: deps.Store, cwd: app.getPath('userData'), log });
  const windows = new WindowManager({
    BrowserWindow,
    shell,
    log,
    platform,
    paths: { rendererDir: paths.rendererDir, preload: paths.preload, icon: paths.icon },
    // macOS with no Dock icon: a window opened from the menu bar would stay behind the active app.
    ...(platform === 'darwin' ? { focusApp: () => app.focus({ steal: true }) } : {}),
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
    setupAppIdentity(app, platform, proc.execPath);
    if (!setupSingleInstance(app, () => controller.openStatus())) {
      app.quit();
      return;
    }
    setupWebContentsGuard(app, { shell, log });
    setupIpc();
    setupQuit();
    await app.whenReady();
    // Keychain calls run in a utility process (forkable only once the app is ready; the packaged
    // binary cannot fork itself as Node, its RunAsNode fuse is off).
    useKeyringHostSpawner(utilityKeyringHostSpawner(electron.utilityProcess));
    setupSessionEnd();
    // macOS knows whether the login item launched us only once the app is ready.
    const hidden = launchedAtLogin(proc.argv, autostart);
    setupDock(app, platform);
    const tray = setupTray();
    setupNotifications(tray);
    await setupCore();
    await setupAutostart();
    setupFirstWindow(hidden);
    // macOS: opening the app again (Finder, Spotlight) is `activate`, not a second instance.
    app.on('activate', () => controller.openStatus());
  }

  function setupIpc(): void {
    registerIpc(ipcHandlers(controller, windows), {
      ipcMain,
      senderKind: (event) => windows.senderKind(event),
      log,
    });
  }

  let stopped = false;
  let stopping: Promise<void> | undefined;
  /** Stops the core once (windows first), then quits. */
  function stopThenQuit(reason: string): Promise<void> {
    stopping ??= (async () => {
      windows.closeAll();
      captcha.close();
      await controller.core
        ?.stop(reason)
        .catch((error: unknown) =>
          log.error({ error: (error as Error).message }, 'stopping the broker failed'),
        );
      stopped = true;
      app.quit();
    })();
    return stopping;
  }

  function setupQuit(): void {
    // A tray app keeps running with no window open.
    app.on('window-all-closed', () => undefined);
    app.on('before-quit', (event) => {
      if (stopped || !controller.core) return;
      event.preventDefault();
      void stopThenQuit('quit');
    });
  }

  /** Log-off and shutdown do not emit before-quit (needs ready: it may create a window). */
  function setupSessionEnd(): void {
    watchSessionEnd({
      platform,
      powerMonitor,
      BrowserWindow,
      onEnd: (reason) => {
        log.info({ reason }, 'the session is ending; stopping the broker');
        void stopThenQuit(reason);
      },
    });
  }

  function setupTray(): TrayService {
    const tray = new TrayService(
      {
        Tray,
        Menu,
        nativeImage,
        platform,
        buildDir: paths.trayBuildDir,
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
    // Windows: this follows the apps' theme, which may differ from the taskbar's; both icon
    // variants are legible on either background, so a mismatch costs contrast only.
    nativeTheme.on('updated', () => tray.setTheme(nativeTheme.shouldUseDarkColors ? 'dark' : 'light'));
    // Expiry times in the tooltip and menu move on by themselves.
    setInterval(() => tray.setNow(Math.floor(systemClock.now() / 30_000) * 30_000), 30_000).unref();
    return tray;
  }

  function setupNotifications(tray: TrayService): void {
    const notifier = new Notifier({
      Notification,
      platform,
      enabled: () => settings.get().notifications,
      openLogin: (account) => controller.openLogin(account),
      onActivation: () => controller.openForNotification(),
      log,
      icon: paths.icon,
    });
    wireShell({ controller, tray, notifier, windows, settings, now: () => systemClock.now() });
  }

  async function setupCore(): Promise<void> {
    const { bridgeEnabled, bridgePort } = settings.get();
    const bridge = { enabled: bridgeEnabled, port: bridgePort };
    try {
      const core = await (deps.startCore
        ? deps.startCore(log, bridge)
        : startCore({ config, log, bridge, startBridge: startAppBridge, daemonOptions: {} }));
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

  function setupFirstWindow(hidden: boolean): void {
    // Started at login: tray only. Started by hand: show what is going on.
    if (hidden) return;
    if (controller.core && controller.core.broker.accountNames().length === 0) controller.openLogin(null);
    else controller.openStatus();
  }

  /** `app.log` in the platform's log folder; in a checkout, stderr too. */
  function logDestination(): NodeJS.WritableStream {
    const dir = app.getPath('logs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = createWriteStream(`${dir}/app.log`, { flags: 'a', mode: 0o600 });
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

  const booted = main().catch((error: unknown) => {
    log.error({ error: (error as Error).stack ?? String(error) }, 'the app failed to start');
    dialog.showErrorBox('PikPak Token Broker could not start', (error as Error).message);
    app.exit(1);
  });
  return { controller, booted };
}
