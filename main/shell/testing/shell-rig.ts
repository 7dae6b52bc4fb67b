/**
 * The shell as app.ts wires it, against a fake Electron and a real Broker whose PikPak, keychain
 * and clock are fakes, with a real client registry in a temp folder. Everything a test needs to
 * drive (clock, auth) and to inspect (trays, windows, notifications, the log) is on the rig.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../core/broker.js';
import type { Logger } from '../../core/ports.js';
import { Secret } from '../../core/secret.js';
import { FakeAuth } from '../../core/testing/fake-auth.js';
import { FakeClock, seededRandom } from '../../core/testing/fake-clock.js';
import { FakeSecretStore } from '../../core/testing/fake-secret-store.js';
import { ClientRegistry } from '../../service/client-registry.js';
import { ClientRequests } from '../../service/client-requests.js';
import { MemorySettingsStore } from '../../service/testing/memory-settings-store.js';
import { MemoryAppSettings, type AppSettings } from '../app-settings.js';
import { BridgeStatus } from '../bridge-runner.js';
import { CaptchaSolver } from '../captcha-window.js';
import { ShellController } from '../controller.js';
import type { ShellCore } from '../core-runtime.js';
import { ipcHandlers } from '../ipc-handlers.js';
import { registerIpc } from '../ipc-main.js';
import { Notifier } from '../notifier.js';
import { TrayService } from '../tray-service.js';
import { WindowManager } from '../windows.js';
import { wireShell } from '../wiring.js';
import { createFakeElectron, type FakeElectron } from './fake-electron.js';

export const USER = 'user@example.com';
export const PASSWORD = 'right-password';
/** The repository root: build/ and renderer/ are found from here. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface CapturedLog extends Logger {
  readonly lines: { level: string; msg: string | undefined; fields: object }[];
  text(): string;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const record =
    (level: string) =>
    (fields: object, msg?: string): void =>
      void lines.push({ level, msg, fields });
  return {
    lines,
    text: () => lines.map((l) => `${l.level} ${l.msg ?? ''} ${JSON.stringify(l.fields)}`).join('\n'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

export interface ShellRig {
  readonly dir: string;
  readonly fake: FakeElectron;
  readonly clock: FakeClock;
  readonly auth: FakeAuth;
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly requests: ClientRequests;
  readonly settings: MemoryAppSettings;
  readonly windows: WindowManager;
  readonly controller: ShellController;
  readonly tray: TrayService;
  readonly notifier: Notifier;
  readonly captcha: CaptchaSolver;
  readonly log: CapturedLog;
  /** Start-at-login values the OS was asked for. */
  readonly autostart: boolean[];
  quits: number;
  core: ShellCore;
  signIn(account: string): Promise<void>;
  /** PikPak forgets every refresh token it issued: the next refresh gets invalid_grant. */
  revokeAllTokens(): void;
  stop(): Promise<void>;
}

export interface ShellRigOptions {
  readonly platform?: NodeJS.Platform;
  /** Accounts signed in before the shell starts. */
  readonly accounts?: readonly string[];
  readonly settings?: Partial<AppSettings>;
  /** Skip attaching the core (tests of the "starting" state). */
  readonly attach?: boolean;
}

export async function startShellRig(options: ShellRigOptions = {}): Promise<ShellRig> {
  const platform = options.platform ?? 'linux';
  const dir = await mkdtemp(join(tmpdir(), 'pkb-shell-'));
  const fake = createFakeElectron({
    appPath: ROOT,
    userData: join(dir, 'userData'),
    logs: join(dir, 'logs'),
  });
  const clock = new FakeClock();
  const auth = new FakeAuth();
  const log = captureLog();
  const broker = await Broker.open({
    settings: new MemorySettingsStore(),
    secrets: new FakeSecretStore(),
    auth,
    clock,
    random: seededRandom(7),
    log,
  });
  const clients = await ClientRegistry.open({ dataDir: join(dir, 'data'), clock, log });
  const requests = new ClientRequests({ clients, accounts: () => broker.accountNames(), clock, log });
  const settings = new MemoryAppSettings(options.settings);
  const { electron } = fake;
  const windows = new WindowManager({
    BrowserWindow: electron.BrowserWindow,
    shell: electron.shell,
    log,
    platform,
    paths: { rendererDir: join(ROOT, 'renderer'), preload: join(ROOT, 'dist', 'renderer', 'preload.cjs') },
  });
  const captcha = new CaptchaSolver({
    BrowserWindow: electron.BrowserWindow,
    session: electron.session,
    shell: electron.shell,
    log,
  });
  const autostart: boolean[] = [];
  const rig: ShellRig = {
    dir,
    fake,
    clock,
    auth,
    broker,
    clients,
    requests,
    settings,
    windows,
    log,
    autostart,
    captcha,
    quits: 0,
    controller: undefined as unknown as ShellController,
    tray: undefined as unknown as TrayService,
    notifier: undefined as unknown as Notifier,
    core: undefined as unknown as ShellCore,
    async signIn(account: string) {
      await broker.login({
        account,
        username: USER,
        password: new Secret(PASSWORD),
        platform: 'android',
        rememberPassword: false,
      });
    },
    revokeAllTokens() {
      for (const entry of auth.issued) entry.used = true;
    },
    async stop() {
      requests.close();
      await broker.stop();
      await clients.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const controller = new ShellController({
    settings,
    now: () => clock.now(),
    log,
    clipboard: electron.clipboard,
    windows,
    captcha,
    setStartAtLogin: async (enabled) => void autostart.push(enabled),
    quit: () => void (rig.quits += 1),
  });
  const tray = new TrayService(
    {
      Tray: electron.Tray,
      Menu: electron.Menu,
      nativeImage: electron.nativeImage,
      platform,
      buildDir: join(ROOT, 'build'),
      log,
      onAction: (action) => controller.onTrayAction(action),
      formatTime: (ms) => new Date(ms).toISOString().slice(11, 16),
    },
    {
      now: clock.now(),
      theme: 'light',
      core: controller.coreState,
      accounts: [],
      requests: [],
      startAtLogin: settings.get().startAtLogin,
    },
  );
  const notifier = new Notifier({
    Notification: electron.Notification,
    enabled: () => settings.get().notifications,
    openLogin: (account) => controller.openLogin(account),
    log,
  });
  registerIpc(ipcHandlers(controller, windows), {
    ipcMain: electron.ipcMain,
    senderKind: (event) => windows.senderKind(event),
    log,
  });
  tray.create();
  wireShell({ controller, tray, notifier, windows, settings, now: () => clock.now(), defer: (fn) => fn() });
  for (const account of options.accounts ?? []) await rig.signIn(account);
  const core: ShellCore = {
    broker,
    clients,
    requests,
    bridge: BridgeStatus.off('Not started in tests.'),
    closed: new Promise(() => undefined),
    stop: async () => undefined,
  };
  Object.assign(rig, { controller, tray, notifier, core });
  if (options.attach !== false) controller.attach(core);
  return rig;
}
