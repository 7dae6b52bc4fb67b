/**
 * Our windows, from one factory with secure defaults (Electron's security checklist):
 * contextIsolation and sandbox on, no Node in the page, webSecurity on, a preload that exposes
 * only the calls the window may make, CSP in every page (renderer/*.html). Navigation is blocked,
 * new windows are denied, and https links open in the user's browser — nothing else leaves.
 *
 * Pages are loaded from files (loadFile), one window per kind; opening a kind that is already
 * open brings it forward (and reloads it when its query changed, e.g. another account to sign in).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../core/ports.js';
import type {
  BrowserWindowConstructor,
  BrowserWindowConstructorOptions,
  BrowserWindowLike,
  IpcMainEventLike,
  ShellModule,
  WebContentsLike,
} from './electron-types.js';
import {
  EVENTS,
  manifestArgument,
  type EventName,
  type EventTypes,
  type WindowKind,
} from './ipc-channels.js';

export interface WindowPaths {
  /** The folder with the pages' HTML and CSS (renderer/). */
  readonly rendererDir: string;
  /** The compiled preload (dist/renderer/preload.cjs). */
  readonly preload: string;
  /** The window icon (Linux and Windows). */
  readonly icon?: string | undefined;
}

export interface PageSpec {
  readonly file: string;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly resizable: boolean;
}

export const PAGES: Readonly<Record<WindowKind, PageSpec>> = {
  login: { file: 'login.html', title: 'Sign in to PikPak', width: 460, height: 700, resizable: false },
  status: { file: 'status.html', title: 'PikPak Token Broker', width: 820, height: 760, resizable: true },
  clients: {
    file: 'clients.html',
    title: 'A program asks for access',
    width: 480,
    height: 400,
    resizable: false,
  },
};

export function secureWindowOptions(kind: WindowKind, paths: WindowPaths): BrowserWindowConstructorOptions {
  const page = PAGES[kind];
  return {
    title: page.title,
    width: page.width,
    height: page.height,
    resizable: page.resizable,
    minimizable: true,
    maximizable: page.resizable,
    show: false,
    autoHideMenuBar: true,
    ...(paths.icon ? { icon: paths.icon } : {}),
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: true,
      // The preload cannot import our files (a sandboxed preload only gets `electron` and a few
      // Node built-ins), so it receives the calls this window may make as data.
      additionalArguments: [manifestArgument(kind)],
    },
  };
}

export interface HardenDeps {
  readonly shell: ShellModule;
  readonly log: Logger;
}

/** Only https: links leave the app, and only to the user's browser. */
export function openExternalIfSafe(url: string, deps: HardenDeps): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:') {
    deps.log.warn({ url: parsed.protocol }, 'refused to open a non-https link');
    return false;
  }
  void deps.shell
    .openExternal(parsed.href)
    .catch((error: unknown) => deps.log.warn({ error: (error as Error).message }, 'could not open a link'));
  return true;
}

/** Our pages never navigate and never open windows: every attempt is refused. */
export function hardenWebContents(contents: WebContentsLike, deps: HardenDeps): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    openExternalIfSafe(url, deps);
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalIfSafe(url, deps);
    return { action: 'deny' };
  });
}

export interface WindowManagerDeps extends HardenDeps {
  readonly BrowserWindow: BrowserWindowConstructor;
  readonly paths: WindowPaths;
  readonly platform: NodeJS.Platform;
  /**
   * Makes the app the active one before a window is shown (macOS: an app without a Dock icon is
   * not activated by a menu-bar click, so its windows would open behind the app in front).
   */
  readonly focusApp?: () => void;
}

interface Open {
  readonly kind: WindowKind;
  readonly window: BrowserWindowLike;
  query: string;
}

export class WindowManager {
  readonly #deps: WindowManagerDeps;
  readonly #open = new Map<WindowKind, Open>();

  constructor(deps: WindowManagerDeps) {
    this.#deps = deps;
  }

  /** Opens (or brings forward) the window of `kind`. */
  open(kind: WindowKind, query: Record<string, string> = {}): BrowserWindowLike {
    const key = new URLSearchParams(query).toString();
    this.#deps.focusApp?.();
    const existing = this.#open.get(kind);
    if (existing && !existing.window.isDestroyed()) {
      if (existing.query !== key) {
        existing.query = key;
        this.#load(existing.window, kind, query);
      }
      if (existing.window.isMinimized()) existing.window.restore();
      existing.window.show();
      existing.window.focus();
      return existing.window;
    }
    const { BrowserWindow, paths } = this.#deps;
    const window = new BrowserWindow(secureWindowOptions(kind, paths));
    hardenWebContents(window.webContents, this.#deps);
    // No application menu in our windows on Windows and Linux (it would offer reload and devtools).
    if (this.#deps.platform !== 'darwin') window.setMenu?.(null);
    window.once('ready-to-show', () => {
      window.show();
      window.focus();
    });
    window.on('closed', () => {
      if (this.#open.get(kind)?.window === window) this.#open.delete(kind);
    });
    this.#open.set(kind, { kind, window, query: key });
    this.#load(window, kind, query);
    return window;
  }

  close(kind: WindowKind): void {
    const open = this.#open.get(kind);
    if (open && !open.window.isDestroyed()) open.window.close();
  }

  closeAll(): void {
    for (const kind of [...this.#open.keys()]) this.close(kind);
  }

  isOpen(kind: WindowKind): boolean {
    const open = this.#open.get(kind);
    return open !== undefined && !open.window.isDestroyed();
  }

  get(kind: WindowKind): BrowserWindowLike | undefined {
    return this.isOpen(kind) ? this.#open.get(kind)?.window : undefined;
  }

  /** The URL a page of `kind` is served from (without query). */
  pageUrl(kind: WindowKind): string {
    return pathToFileURL(join(this.#deps.paths.rendererDir, PAGES[kind].file)).href;
  }

  /**
   * Which of our windows sent an IPC message: its webContents must be one we created and the
   * sending frame must be that window's own page. Anything else is a foreign sender (undefined).
   */
  senderKind(event: IpcMainEventLike): WindowKind | undefined {
    for (const open of this.#open.values()) {
      if (open.window.isDestroyed() || open.window.webContents.id !== event.sender.id) continue;
      const frameUrl = event.senderFrame?.url;
      if (frameUrl === undefined) return undefined;
      return stripQuery(frameUrl) === this.pageUrl(open.kind) ? open.kind : undefined;
    }
    return undefined;
  }

  /** Sends an event to every open window allowed to receive it. */
  broadcast<E extends EventName>(event: E, payload: EventTypes[E]): void {
    const { channel, windows } = EVENTS[event];
    for (const open of this.#open.values()) {
      if (!windows.includes(open.kind) || open.window.isDestroyed()) continue;
      const contents = open.window.webContents;
      if (!contents.isDestroyed()) contents.send(channel, payload);
    }
  }

  #load(window: BrowserWindowLike, kind: WindowKind, query: Record<string, string>): void {
    const path = join(this.#deps.paths.rendererDir, PAGES[kind].file);
    window
      .loadFile(path, { query })
      .catch((error: unknown) =>
        this.#deps.log.error({ kind, error: (error as Error).message }, 'a window failed to load its page'),
      );
  }
}

function stripQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}
