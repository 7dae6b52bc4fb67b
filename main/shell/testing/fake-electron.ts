/**
 * A fake of the Electron surface the shell uses (electron-types.ts), recording every call, for
 * tests under plain Node (no Electron binary is needed). `createFakeElectron()` returns a fresh,
 * independent set each time; the `electron` member fits `ShellElectron`.
 *
 * It behaves as Electron 45 documents it (node_modules/electron/electron.d.ts and the API docs),
 * where the difference could hide a bug: `loadFile` gives a percent-encoded file:// URL;
 * `whenReady()` waits for `ready()` (a test calls it once the entry module has run, as Electron
 * emits `ready` only then); `getLoginItemSettings().wasOpenedAtLogin` is false before ready;
 * checkbox items flip their own `checked` before their click handler runs; `webRequest` sees
 * only schemes Chromium's network stack handles; `will-frame-navigate` fires for the main frame
 * too (before `will-navigate`); `nativeImage` is empty for relative paths and for `.ico` files
 * off Windows, and knows `@2x` and `Template` names; `isPackaged` is false (as under `npm start`);
 * `Notification.isSupported()` is true on Linux whether or not a notification daemon runs (it only
 * says libnotify loaded) and a notification without a daemon fails when shown.
 * main/shell/testing/fake-surface.test.ts checks every member the shell uses against electron.d.ts.
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  ActivationDetails,
  BrowserWindowConstructorOptions,
  LoginItemSettingsInput,
  MenuItemConstructorOptions,
  NativeImage,
  NotificationConstructorOptions,
  ShellElectron,
  WindowOpenDetails,
} from '../electron-types.js';

type Listener = (...args: never[]) => unknown;

export class FakeEmitter {
  readonly #listeners = new Map<string, { fn: Listener; once: boolean }[]>();

  on(event: string, fn: Listener): this {
    this.#list(event).push({ fn, once: false });
    return this;
  }

  once(event: string, fn: Listener): this {
    this.#list(event).push({ fn, once: true });
    return this;
  }

  removeListener(event: string, fn: Listener): this {
    this.#listeners.set(
      event,
      this.#list(event).filter((l) => l.fn !== fn),
    );
    return this;
  }

  listenerCount(event: string): number {
    return this.#list(event).length;
  }

  emit(event: string, ...args: unknown[]): void {
    const listeners = [...this.#list(event)];
    this.#listeners.set(
      event,
      this.#list(event).filter((l) => !l.once),
    );
    for (const l of listeners) (l.fn as (...a: unknown[]) => unknown)(...args);
  }

  #list(event: string): { fn: Listener; once: boolean }[] {
    let list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, (list = []));
    return list;
  }
}

/** An Electron `Event`: records whether a listener called preventDefault. */
export class FakeEvent {
  defaultPrevented = false;
  constructor(readonly url = '') {}
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class FakeNativeImage {
  template: boolean;
  readonly #scales: number[];
  /** `platform` decides what Electron can decode: `.ico` only on Windows. */
  constructor(
    readonly path: string,
    platform: NodeJS.Platform = 'linux',
  ) {
    this.#scales = imageScales(path, platform);
    // macOS: a file name ending in "Template" makes a template image by itself.
    this.template = platform === 'darwin' && /Template(@\dx)?$/.test(basename(path, extname(path)));
  }
  isEmpty(): boolean {
    return this.#scales.length === 0;
  }
  /** The scale factors Electron found: `name.png` is 1, a `name@2x.png` beside it adds 2. */
  getScaleFactors(): number[] {
    return [...this.#scales];
  }
  setTemplateImage(value: boolean): void {
    this.template = value;
  }
  isTemplateImage(): boolean {
    return this.template;
  }
}

function imageScales(path: string, platform: NodeJS.Platform): number[] {
  // nativeImage.createFromPath reads nothing for a relative path.
  if (!isAbsolute(path)) return [];
  const ext = extname(path).toLowerCase();
  if (ext === '.ico' && platform !== 'win32') return [];
  if (!existsSync(path)) return [];
  const explicit = /@(\d)x$/.exec(basename(path, extname(path)));
  if (explicit) return [Number(explicit[1])];
  const scales = [1];
  if (ext === '.png' && existsSync(join(dirname(path), `${basename(path, extname(path))}@2x${ext}`)))
    scales.push(2);
  return scales;
}

/** A menu's items are copies of the template (Electron builds MenuItems; the template is left alone). */
function copyItems(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.map((item) => ({
    ...item,
    ...(Array.isArray(item.submenu) ? { submenu: copyItems(item.submenu) } : {}),
  }));
}

export class FakeMenu {
  readonly template: MenuItemConstructorOptions[];
  constructor(template: MenuItemConstructorOptions[]) {
    this.template = copyItems(template);
  }
  get items(): readonly MenuItemConstructorOptions[] {
    return this.template;
  }
  /** Every item, submenus flattened. */
  flat(): MenuItemConstructorOptions[] {
    const walk = (items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
      items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? walk(i.submenu) : [])]);
    return walk(this.template);
  }
  labels(): string[] {
    return this.flat()
      .filter((i) => i.type !== 'separator')
      .map((i) => i.label ?? '');
  }
  item(label: string | RegExp): MenuItemConstructorOptions {
    const found = this.flat().find((i) =>
      typeof label === 'string' ? i.label === label : label.test(i.label ?? ''),
    );
    if (!found) throw new Error(`no menu item ${String(label)} in: ${this.labels().join(' | ')}`);
    return found;
  }
  /** A click as Electron delivers it: a checkbox flips its own `checked` first, then the handler runs. */
  click(label: string | RegExp): void {
    const item = this.item(label);
    if (item.enabled === false) throw new Error(`menu item ${String(label)} is disabled`);
    if (item.type === 'checkbox') item.checked = !item.checked;
    if (item.click)
      (item.click as unknown as (menuItem: unknown, window: undefined, event: object) => void)(
        item,
        undefined,
        {},
      );
    else if (item.type !== 'checkbox') throw new Error(`menu item ${String(label)} has no click handler`);
  }
}

/** Schemes Chromium's network stack (and so webRequest) handles; others fail before any request. */
const NETWORK_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'file:', 'data:', 'blob:']);

export class FakeSession {
  permissionRequest:
    ((webContents: unknown, permission: string, callback: (granted: boolean) => void) => void) | undefined;
  permissionCheck: (() => boolean) | undefined;
  beforeRequest:
    ((details: { url: string }, callback: (response: { cancel?: boolean }) => void) => void) | undefined;
  readonly webRequest = {
    onBeforeRequest: (
      _filter: { urls: string[] },
      listener: (details: { url: string }, callback: (response: { cancel?: boolean }) => void) => void,
    ): void => {
      this.beforeRequest = listener;
    },
  };
  constructor(readonly partition: string) {}
  setPermissionRequestHandler(handler: FakeSession['permissionRequest']): void {
    this.permissionRequest = handler;
  }
  setPermissionCheckHandler(handler: () => boolean): void {
    this.permissionCheck = handler;
  }
  /**
   * What a request the page makes to `url` gets from the onBeforeRequest listener. Chromium never
   * issues a network request for a scheme it has no handler for, so webRequest never sees one:
   * then the answer is undefined whatever is registered.
   */
  request(url: string): { cancel?: boolean } | undefined {
    if (!NETWORK_SCHEMES.has(new URL(url).protocol)) return undefined;
    let answer: { cancel?: boolean } | undefined;
    this.beforeRequest?.({ url }, (response) => (answer = response));
    return answer;
  }
}

let webContentsIds = 100;

export class FakeWebContents extends FakeEmitter {
  readonly id = ++webContentsIds;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: WindowOpenDetails) => { action: 'deny' }) | undefined;
  destroyed = false;
  url = '';
  constructor(readonly session: FakeSession) {
    super();
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  getURL(): string {
    return this.url;
  }
  setWindowOpenHandler(handler: (details: WindowOpenDetails) => { action: 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  /**
   * A renderer-initiated navigation of the main frame: returns whether it was allowed to happen.
   * Electron emits will-frame-navigate for every frame, the main frame included, and then, for the
   * main frame and only when that was not prevented, will-navigate. A redirect is will-redirect alone.
   */
  navigate(url: string, event: 'will-navigate' | 'will-redirect' = 'will-navigate'): boolean {
    if (event === 'will-navigate' && !this.frameNavigate(url, true)) return false;
    const e = new FakeEvent(url);
    this.emit(event, e, url);
    return !e.defaultPrevented;
  }
  /** A frame navigation (Electron's will-frame-navigate carries the url on the event). */
  frameNavigate(url: string, isMainFrame = false): boolean {
    const e = Object.assign(new FakeEvent(url), { isMainFrame });
    this.emit('will-frame-navigate', e);
    return !e.defaultPrevented;
  }
  /** `window.open(url)` from the page: what the handler decided. */
  openWindow(url: string): { action: 'deny' } | undefined {
    return this.windowOpenHandler?.({ url });
  }
}

export class FakeNotification extends FakeEmitter {
  shown = false;
  closed = false;
  constructor(
    readonly options: NotificationConstructorOptions,
    readonly daemon = true,
  ) {
    super();
  }
  /** Without a notification daemon libnotify cannot show it, and Electron emits `failed`. */
  show(): void {
    if (!this.daemon) {
      this.emit(
        'failed',
        new FakeEvent(),
        'GDBus.Error: The name org.freedesktop.Notifications was not provided',
      );
      return;
    }
    this.shown = true;
  }
  close(): void {
    this.closed = true;
    this.emit('close');
  }
  click(): void {
    this.emit('click');
  }
}

export class FakeTray extends FakeEmitter {
  image: FakeNativeImage | undefined;
  tooltip = '';
  menu: FakeMenu | undefined;
  destroyed = false;
  readonly calls = { setImage: 0, setToolTip: 0, setContextMenu: 0 };
  constructor(image: FakeNativeImage) {
    super();
    this.image = image;
  }
  setImage(image: FakeNativeImage): void {
    this.calls.setImage += 1;
    this.image = image;
  }
  setToolTip(tooltip: string): void {
    this.calls.setToolTip += 1;
    this.tooltip = tooltip;
  }
  setContextMenu(menu: FakeMenu | null): void {
    this.calls.setContextMenu += 1;
    this.menu = menu ?? undefined;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export class FakeBrowserWindow extends FakeEmitter {
  readonly webContents: FakeWebContents;
  loaded: { file?: string; query?: Record<string, string>; url?: string } = {};
  loads = 0;
  visible = false;
  focused = false;
  minimized = false;
  destroyed = false;
  menu: null | undefined;
  constructor(
    readonly options: BrowserWindowConstructorOptions,
    session: FakeSession,
  ) {
    super();
    this.webContents = new FakeWebContents(session);
  }
  async loadFile(path: string, options: { query?: Record<string, string> } = {}): Promise<void> {
    this.loads += 1;
    this.loaded = { file: path, query: options.query ?? {} };
    // Electron: url.pathToFileURL(path) with the query as search: spaces and the like percent-encoded.
    const url = pathToFileURL(path);
    url.search = new URLSearchParams(options.query ?? {}).toString();
    this.webContents.url = url.href;
    queueMicrotask(() => this.emit('ready-to-show'));
  }
  async loadURL(url: string): Promise<void> {
    this.loads += 1;
    this.loaded = { url };
    this.webContents.url = url;
  }
  show(): void {
    this.visible = true;
  }
  focus(): void {
    this.focused = true;
  }
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  setMenu(menu: null): void {
    this.menu = menu;
  }
}

export interface FakeIpcEvent {
  readonly sender: { readonly id: number };
  readonly senderFrame: { readonly url: string } | null;
}

export class FakeIpcMain {
  readonly handlers = new Map<string, (event: FakeIpcEvent, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: FakeIpcEvent, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`a handler for ${channel} is registered already`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What ipcRenderer.invoke would get: the handler's result, or its error as a rejection. */
  async invoke(channel: string, event: FakeIpcEvent, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler(event, ...args);
  }
  /** An event as a window's own page would send it. */
  static from(window: FakeBrowserWindow): FakeIpcEvent {
    return { sender: { id: window.webContents.id }, senderFrame: { url: window.webContents.url } };
  }
}

export class FakeApp extends FakeEmitter {
  singleInstance = true;
  readonly calls = {
    setAppUserModelId: [] as string[],
    setLoginItemSettings: [] as LoginItemSettingsInput[],
    quit: 0,
    exit: [] as (number | undefined)[],
    focus: [] as ({ steal: boolean } | undefined)[],
  };
  /** What the OS knows of the login item; `wasOpenedAtLogin` is readable only once ready. */
  loginItem = { openAtLogin: false, wasOpenedAtLogin: false };
  readonly dock = { hidden: false, hide: (): void => void (this.dock.hidden = true) };
  /** `npm start` runs unpackaged; a test of the installed app sets this. */
  isPackaged = false;
  #ready = false;
  readonly #whenReady: Promise<void>;
  #resolveReady: () => void = () => undefined;
  constructor(
    readonly paths: { appPath: string; userData: string; appData?: string; logs: string; home: string },
  ) {
    super();
    this.#whenReady = new Promise((resolve) => (this.#resolveReady = resolve));
  }
  /** Resolves once `ready()` was called: Electron emits ready after the entry module has run. */
  whenReady(): Promise<void> {
    return this.#whenReady;
  }
  isReady(): boolean {
    return this.#ready;
  }
  /** Electron finished initialising (call it after the entry module was evaluated). */
  ready(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.emit('ready', new FakeEvent(), {});
    this.#resolveReady();
  }
  focus(options?: { steal: boolean }): void {
    this.calls.focus.push(options);
  }
  quit(): void {
    this.calls.quit += 1;
    const event = new FakeEvent();
    this.emit('before-quit', event);
  }
  exit(code?: number): void {
    this.calls.exit.push(code);
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstance;
  }
  setAppUserModelId(id: string): void {
    this.calls.setAppUserModelId.push(id);
  }
  setLoginItemSettings(settings: LoginItemSettingsInput): void {
    this.calls.setLoginItemSettings.push(settings);
    this.loginItem = { ...this.loginItem, openAtLogin: settings.openAtLogin ?? false };
  }
  /** Before ready the launch event is not known yet: wasOpenedAtLogin reads false (macOS). */
  getLoginItemSettings(): { openAtLogin: boolean; wasOpenedAtLogin: boolean } {
    return this.#ready ? { ...this.loginItem } : { ...this.loginItem, wasOpenedAtLogin: false };
  }
  getAppPath(): string {
    return this.paths.appPath;
  }
  getPath(name: 'userData' | 'appData' | 'logs' | 'home'): string {
    return name === 'appData' ? (this.paths.appData ?? dirname(this.paths.userData)) : this.paths[name];
  }
  setPath(name: 'userData', path: string): void {
    if (this.#ready) throw new Error('the fake models setPath("userData") before ready only');
    this.paths[name] = path;
  }
  getVersion(): string {
    return '0.1.0';
  }
}

/**
 * Electron's UtilityProcess, run for real as a Node child process (child_process.fork) with the
 * same script, flags and messages: the script sees `process.send` where Electron gives it
 * `process.parentPort` (main/storage/keyring-host.ts speaks both). Unref'd like a utility
 * process, which never keeps the app alive.
 */
export class FakeUtilityProcess extends FakeEmitter {
  readonly #child: ChildProcess;
  constructor(
    readonly modulePath: string,
    readonly args: string[],
    readonly options: { execArgv?: string[]; stdio?: string; serviceName?: string },
  ) {
    super();
    this.#child = fork(modulePath, args, {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'json',
    });
    this.#child.on('message', (message) => this.emit('message', message));
    this.#child.on('exit', (code, signal) => this.emit('exit', code ?? (signal ? 128 : 0)));
    this.#child.unref();
    this.#child.channel?.unref();
  }
  get pid(): number | undefined {
    return this.#child.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }
  postMessage(message: unknown): void {
    this.#child.send(message as Serializable);
  }
  kill(): boolean {
    return this.#child.kill('SIGTERM');
  }
}

export interface FakeElectron {
  readonly electron: ShellElectron;
  readonly app: FakeApp;
  readonly trays: FakeTray[];
  readonly windows: FakeBrowserWindow[];
  readonly notifications: FakeNotification[];
  readonly sessions: Map<string, FakeSession>;
  readonly ipcMain: FakeIpcMain;
  readonly clipboard: { text: string; writeText(text: string): void };
  readonly shell: { opened: string[]; openExternal(url: string): Promise<void> };
  readonly dialog: {
    errors: { title: string; content: string }[];
    showErrorBox(title: string, content: string): void;
  };
  readonly nativeTheme: FakeEmitter & { shouldUseDarkColors: boolean };
  readonly powerMonitor: FakeEmitter;
  /** Every utilityProcess.fork, in order. */
  readonly utilityProcesses: FakeUtilityProcess[];
  /** Whether libnotify could be loaded (Linux); what `Notification.isSupported()` reports. */
  notificationsSupported: boolean;
  /** Whether a notification daemon answers: without one a notification fails when shown. */
  notificationDaemon: boolean;
  /** The callback given to `Notification.handleActivation` (Windows), if any. */
  activationHandler: ((details: ActivationDetails) => void) | undefined;
  /**
   * The OS-level shutdown or log-off: powerMonitor `shutdown` (Linux, macOS; its listener may call
   * preventDefault to delay it) or `session-end` on every window (Windows). Returns the event.
   */
  endSession(platform: NodeJS.Platform): FakeEvent;
}

export interface FakeElectronOptions extends Partial<FakeApp['paths']> {
  /** The platform Electron runs on: decides which image files nativeImage can read. */
  readonly platform?: NodeJS.Platform;
  /**
   * Whether the app is ready already (default: true, for tests of one piece). A test that boots
   * the app passes false and calls `app.ready()` once the entry has run, as Electron does.
   */
  readonly ready?: boolean;
}

export function createFakeElectron(paths: FakeElectronOptions = {}): FakeElectron {
  const platform = paths.platform ?? 'linux';
  const app = new FakeApp({
    appPath: paths.appPath ?? process.cwd(),
    userData: paths.userData ?? '/nonexistent/userData',
    logs: paths.logs ?? '/nonexistent/logs',
    home: paths.home ?? '/nonexistent/home',
    ...(paths.appData ? { appData: paths.appData } : {}),
  });
  if (paths.ready !== false) app.ready();
  const needReady = (what: string): void => {
    if (!app.isReady()) throw new Error(`Cannot create ${what} before app is ready`);
  };
  const trays: FakeTray[] = [];
  const windows: FakeBrowserWindow[] = [];
  const notifications: FakeNotification[] = [];
  const sessions = new Map<string, FakeSession>();
  const defaultSession = new FakeSession('');
  const sessionFor = (partition: string | undefined): FakeSession => {
    if (!partition) return defaultSession;
    let session = sessions.get(partition);
    if (!session) sessions.set(partition, (session = new FakeSession(partition)));
    return session;
  };

  const fake: FakeElectron = {
    app,
    trays,
    windows,
    notifications,
    sessions,
    ipcMain: new FakeIpcMain(),
    clipboard: {
      text: '',
      writeText(text: string) {
        this.text = text;
      },
    },
    shell: {
      opened: [],
      async openExternal(url: string) {
        this.opened.push(url);
      },
    },
    dialog: {
      errors: [],
      showErrorBox(title: string, content: string) {
        this.errors.push({ title, content });
      },
    },
    nativeTheme: Object.assign(new FakeEmitter(), { shouldUseDarkColors: false }),
    powerMonitor: new FakeEmitter(),
    utilityProcesses: [],
    notificationsSupported: true,
    notificationDaemon: true,
    activationHandler: undefined,
    endSession(on: NodeJS.Platform): FakeEvent {
      if (on === 'win32') {
        const event = Object.assign(new FakeEvent(), { reasons: ['logoff'] });
        for (const window of windows) if (!window.isDestroyed()) window.emit('session-end', event);
        return event;
      }
      const event = new FakeEvent();
      fake.powerMonitor.emit('shutdown', event);
      return event;
    },
    electron: undefined as unknown as ShellElectron,
  };

  class Tray extends FakeTray {
    constructor(image: NativeImage) {
      needReady('Tray');
      super(image as unknown as FakeNativeImage);
      trays.push(this);
    }
  }
  class BrowserWindow extends FakeBrowserWindow {
    constructor(options: BrowserWindowConstructorOptions) {
      needReady('BrowserWindow');
      super(options, sessionFor(options.webPreferences?.partition));
      windows.push(this);
      app.emit('web-contents-created', new FakeEvent(), this.webContents);
    }
  }
  class Notification extends FakeNotification {
    constructor(options: NotificationConstructorOptions) {
      super(options, fake.notificationDaemon);
      notifications.push(this);
    }
    static isSupported(): boolean {
      return fake.notificationsSupported;
    }
    static handleActivation(callback: (details: ActivationDetails) => void): void {
      fake.activationHandler = callback;
    }
  }

  (fake as { electron: ShellElectron }).electron = {
    app: app as unknown as ShellElectron['app'],
    BrowserWindow: BrowserWindow as unknown as ShellElectron['BrowserWindow'],
    Tray: Tray as unknown as ShellElectron['Tray'],
    Menu: { buildFromTemplate: (template) => new FakeMenu(template) },
    nativeImage: {
      createFromPath: (path) => new FakeNativeImage(path, platform) as unknown as NativeImage,
    },
    Notification: Notification as unknown as ShellElectron['Notification'],
    ipcMain: fake.ipcMain as unknown as ShellElectron['ipcMain'],
    shell: fake.shell,
    clipboard: fake.clipboard,
    dialog: fake.dialog,
    session: { fromPartition: (partition) => sessionFor(partition) },
    nativeTheme: fake.nativeTheme as unknown as ShellElectron['nativeTheme'],
    powerMonitor: fake.powerMonitor as unknown as ShellElectron['powerMonitor'],
    utilityProcess: {
      fork: (modulePath, args, options) => {
        needReady('a utility process');
        const child = new FakeUtilityProcess(modulePath, args, options);
        fake.utilityProcesses.push(child);
        return child as unknown as ReturnType<ShellElectron['utilityProcess']['fork']>;
      },
    },
  };
  return fake;
}
