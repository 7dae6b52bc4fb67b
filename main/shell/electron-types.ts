/**
 * The part of Electron the shell uses, as small structural types. main/app.ts hands the real
 * modules in (the compiler checks that they fit); tests hand in main/shell/testing/fake-electron.ts.
 * Nothing under main/shell imports an Electron value; data shapes come from Electron's own types.
 */
import type {
  ActivationArguments,
  BrowserWindowConstructorOptions,
  LoginItemSettings,
  MenuItemConstructorOptions,
  NativeImage,
  NotificationConstructorOptions,
  Settings as LoginItemSettingsInput,
} from 'electron';

export type { BrowserWindowConstructorOptions, MenuItemConstructorOptions, NotificationConstructorOptions };
export type { LoginItemSettingsInput };
/** What Windows tells `Notification.handleActivation` about a click in the Action Center. */
export type ActivationDetails = Pick<ActivationArguments, 'type' | 'arguments'>;

/** What Electron's `Event` offers the listeners below. */
export interface PreventableEvent {
  preventDefault(): void;
}

export interface NavigationEvent extends PreventableEvent {
  readonly url: string;
}

export interface AppLike {
  on(event: 'second-instance', listener: (event: PreventableEvent, argv: string[]) => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown;
  /** macOS: the app was opened again (Finder, Spotlight, the Dock) while running. */
  on(event: 'activate', listener: (event: PreventableEvent, hasVisibleWindows: boolean) => void): unknown;
  on(
    event: 'web-contents-created',
    listener: (event: PreventableEvent, contents: WebContentsLike) => void,
  ): unknown;
  whenReady(): Promise<void>;
  /** macOS: `steal` makes this the active app even when another one is. */
  focus(options?: { steal: boolean }): void;
  quit(): void;
  exit(code?: number): void;
  requestSingleInstanceLock(): boolean;
  setAppUserModelId(id: string): void;
  setLoginItemSettings(settings: LoginItemSettingsInput): void;
  getLoginItemSettings(): Pick<LoginItemSettings, 'openAtLogin' | 'wasOpenedAtLogin'>;
  getAppPath(): string;
  getPath(name: 'userData' | 'appData' | 'logs' | 'home'): string;
  setPath(name: 'userData', path: string): void;
  getVersion(): string;
  readonly isPackaged: boolean;
  readonly dock?: { hide(): void } | undefined;
}

export type { NativeImage };

export interface NativeImageModule {
  createFromPath(path: string): NativeImage;
}

export interface MenuLike {
  readonly items: readonly unknown[];
}

export interface MenuModule {
  buildFromTemplate(template: MenuItemConstructorOptions[]): MenuLike;
}

export interface TrayLike {
  setImage(image: NativeImage): void;
  setToolTip(toolTip: string): void;
  setContextMenu(menu: MenuLike | null): void;
  on(event: 'click' | 'double-click', listener: () => void): unknown;
  destroy(): void;
}

export type TrayConstructor = new (image: NativeImage) => TrayLike;

export interface NotificationLike {
  show(): void;
  close(): void;
  on(event: 'click' | 'close', listener: () => void): unknown;
  on(event: 'failed', listener: (event: unknown, error: string) => void): unknown;
}

export interface NotificationConstructor {
  new (options: NotificationConstructorOptions): NotificationLike;
  /** Whether Electron has a notification backend (Linux: libnotify loaded, daemon or not). */
  isSupported(): boolean;
  /** Windows: clicks in the Action Center, also on notifications of an earlier run of the app. */
  handleActivation?(callback: (details: ActivationDetails) => void): void;
}

export interface SessionLike {
  setPermissionRequestHandler(
    handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void,
  ): void;
  setPermissionCheckHandler(handler: () => boolean): void;
}

export interface SessionModule {
  fromPartition(partition: string, options?: { cache?: boolean }): SessionLike;
}

export interface WindowOpenDetails {
  readonly url: string;
}

export interface WebContentsLike {
  readonly id: number;
  readonly session: SessionLike;
  on(
    event: 'will-navigate' | 'will-redirect',
    listener: (event: NavigationEvent, url: string) => void,
  ): unknown;
  on(event: 'will-frame-navigate', listener: (event: NavigationEvent) => void): unknown;
  on(event: 'did-start-navigation', listener: (event: NavigationEvent) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: WindowOpenDetails) => { action: 'deny' }): void;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  getURL(): string;
}

export interface BrowserWindowLike {
  readonly webContents: WebContentsLike;
  loadFile(path: string, options?: { query?: Record<string, string> }): Promise<void>;
  loadURL(url: string): Promise<void>;
  show(): void;
  focus(): void;
  close(): void;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  setMenu?(menu: null): void;
  on(event: 'closed', listener: () => void): unknown;
  /** Windows: log-off, restart or shutdown (before-quit is not emitted then). */
  on(event: 'session-end', listener: (event: PreventableEvent) => void): unknown;
  once(event: 'ready-to-show', listener: () => void): unknown;
}

export type BrowserWindowConstructor = new (options: BrowserWindowConstructorOptions) => BrowserWindowLike;

export interface IpcMainEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame: { readonly url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface ShellModule {
  openExternal(url: string): Promise<void>;
}

export interface ClipboardModule {
  writeText(text: string): void;
}

export interface DialogModule {
  showErrorBox(title: string, content: string): void;
}

export interface NativeThemeLike {
  readonly shouldUseDarkColors: boolean;
  on(event: 'updated', listener: () => void): unknown;
}

export interface PowerMonitorLike {
  /** Linux and macOS: the system is about to shut down; preventDefault delays it while we stop. */
  on(event: 'shutdown', listener: (event?: PreventableEvent) => void): unknown;
}

/** A child process started by `utilityProcess.fork` (Node integration, its own fd table). */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (type: 'FatalError', location: string, report: string) => void): unknown;
  kill(): boolean;
}

export interface UtilityProcessModule {
  fork(
    modulePath: string,
    args: string[],
    options: { execArgv: string[]; stdio: 'ignore'; serviceName: string },
  ): UtilityProcessLike;
}

/** Everything the shell gets from Electron, in one bag. */
export interface ShellElectron {
  readonly app: AppLike;
  readonly BrowserWindow: BrowserWindowConstructor;
  readonly Tray: TrayConstructor;
  readonly Menu: MenuModule;
  readonly nativeImage: NativeImageModule;
  readonly Notification: NotificationConstructor;
  readonly ipcMain: IpcMainLike;
  readonly shell: ShellModule;
  readonly clipboard: ClipboardModule;
  readonly dialog: DialogModule;
  readonly session: SessionModule;
  readonly nativeTheme: NativeThemeLike;
  readonly powerMonitor: PowerMonitorLike;
  readonly utilityProcess: UtilityProcessModule;
}
