/**
 * A fake of the Electron surface the shell uses (electron-types.ts), recording every call, for
 * tests under plain Node (no Electron binary is needed). `createFakeElectron()` returns a fresh,
 * independent set each time; the `electron` member fits `ShellElectron`.
 */
import { existsSync } from 'node:fs';
import type {
  BrowserWindowConstructorOptions,
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
  template = false;
  constructor(readonly path: string) {}
  isEmpty(): boolean {
    return !existsSync(this.path);
  }
  setTemplateImage(value: boolean): void {
    this.template = value;
  }
}

export class FakeMenu {
  constructor(readonly template: MenuItemConstructorOptions[]) {}
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
  click(label: string | RegExp): void {
    const item = this.item(label);
    if (!item.click) throw new Error(`menu item ${String(label)} has no click handler`);
    (item.click as () => void)();
  }
}

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
  /** What a request to `url` gets from the onBeforeRequest listener. */
  request(url: string): { cancel?: boolean } | undefined {
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
  /** A renderer-initiated navigation: returns whether it was allowed to happen. */
  navigate(url: string, event: 'will-navigate' | 'will-redirect' = 'will-navigate'): boolean {
    const e = new FakeEvent(url);
    this.emit(event, e, url);
    return !e.defaultPrevented;
  }
  /** A frame navigation (Electron's will-frame-navigate carries the url on the event). */
  frameNavigate(url: string): boolean {
    const e = new FakeEvent(url);
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
  constructor(readonly options: NotificationConstructorOptions) {
    super();
  }
  show(): void {
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
    const query = new URLSearchParams(options.query ?? {}).toString();
    this.webContents.url = `file://${path}${query ? `?${query}` : ''}`;
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
    setLoginItemSettings: [] as unknown[],
    quit: 0,
    exit: [] as (number | undefined)[],
  };
  loginItem = { openAtLogin: false, wasOpenedAtLogin: false };
  readonly dock = { hidden: false, hide: (): void => void (this.dock.hidden = true) };
  isPackaged = true;
  constructor(readonly paths: { appPath: string; userData: string; logs: string; home: string }) {
    super();
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
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
  setLoginItemSettings(settings: { openAtLogin?: boolean }): void {
    this.calls.setLoginItemSettings.push(settings);
    this.loginItem = { ...this.loginItem, openAtLogin: settings.openAtLogin ?? false };
  }
  getLoginItemSettings(): { openAtLogin: boolean; wasOpenedAtLogin: boolean } {
    return this.loginItem;
  }
  getAppPath(): string {
    return this.paths.appPath;
  }
  getPath(name: 'userData' | 'logs' | 'home'): string {
    return this.paths[name];
  }
  getVersion(): string {
    return '0.1.0';
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
  notificationsSupported: boolean;
}

export function createFakeElectron(paths: Partial<FakeApp['paths']> = {}): FakeElectron {
  const app = new FakeApp({
    appPath: paths.appPath ?? process.cwd(),
    userData: paths.userData ?? '/nonexistent/userData',
    logs: paths.logs ?? '/nonexistent/logs',
    home: paths.home ?? '/nonexistent/home',
  });
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
    notificationsSupported: true,
    electron: undefined as unknown as ShellElectron,
  };

  class Tray extends FakeTray {
    constructor(image: NativeImage) {
      super(image as unknown as FakeNativeImage);
      trays.push(this);
    }
  }
  class BrowserWindow extends FakeBrowserWindow {
    constructor(options: BrowserWindowConstructorOptions) {
      super(options, sessionFor(options.webPreferences?.partition));
      windows.push(this);
      app.emit('web-contents-created', new FakeEvent(), this.webContents);
    }
  }
  class Notification extends FakeNotification {
    constructor(options: NotificationConstructorOptions) {
      super(options);
      notifications.push(this);
    }
    static isSupported(): boolean {
      return fake.notificationsSupported;
    }
  }

  (fake as { electron: ShellElectron }).electron = {
    app: app as unknown as ShellElectron['app'],
    BrowserWindow: BrowserWindow as unknown as ShellElectron['BrowserWindow'],
    Tray: Tray as unknown as ShellElectron['Tray'],
    Menu: { buildFromTemplate: (template) => new FakeMenu(template) },
    nativeImage: { createFromPath: (path) => new FakeNativeImage(path) as unknown as NativeImage },
    Notification: Notification as unknown as ShellElectron['Notification'],
    ipcMain: fake.ipcMain as unknown as ShellElectron['ipcMain'],
    shell: fake.shell,
    clipboard: fake.clipboard,
    dialog: fake.dialog,
    session: { fromPartition: (partition) => sessionFor(partition) },
    nativeTheme: fake.nativeTheme as unknown as ShellElectron['nativeTheme'],
  };
  return fake;
}
