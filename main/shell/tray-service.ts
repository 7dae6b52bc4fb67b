/**
 * The tray icon. Setters store one piece of input and return early when nothing changed; one
 * `render()` derives icon, tooltip and menu (tray-view.ts) and touches Electron only for what
 * differs from what is shown. Electron's Tray, Menu and nativeImage come in by injection.
 */
import type { Logger } from '../core/ports.js';
import type {
  MenuItemConstructorOptions,
  MenuModule,
  NativeImageModule,
  TrayConstructor,
  TrayLike,
} from './electron-types.js';
import { trayIconPath, usesTemplateImages, type PanelTheme } from './icons.js';
import type { ClientRequestView, CoreState } from './ipc-channels.js';
import {
  trayView,
  type TrayAccount,
  type TrayAction,
  type TrayMenuEntry,
  type TrayView,
} from './tray-view.js';

export interface TrayServiceDeps {
  readonly Tray: TrayConstructor;
  readonly Menu: MenuModule;
  readonly nativeImage: NativeImageModule;
  readonly platform: NodeJS.Platform;
  /** The folder holding tray/ (build/ in a checkout and in the packaged app). */
  readonly buildDir: string;
  readonly onAction: (action: TrayAction) => void;
  readonly formatTime?: (ms: number) => string;
  readonly log: Logger;
}

export interface TrayState {
  readonly now: number;
  readonly theme: PanelTheme;
  readonly core: { readonly state: CoreState; readonly message: string };
  readonly accounts: readonly TrayAccount[];
  readonly requests: readonly ClientRequestView[];
  readonly startAtLogin: boolean;
}

const defaultFormatTime = (ms: number): string =>
  new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export class TrayService {
  readonly #deps: TrayServiceDeps;
  #state: TrayState;
  #tray: TrayLike | undefined;
  #shown: { icon?: string; tooltip?: string; menu?: string } = {};
  #view: TrayView | undefined;
  /** How many times the view was derived (tests prove setters return early). */
  renders = 0;

  constructor(deps: TrayServiceDeps, initial: TrayState) {
    this.#deps = deps;
    this.#state = initial;
  }

  /** Creates the Electron tray icon (after app ready) and shows the current state. */
  create(): void {
    if (this.#tray) return;
    const { Tray, nativeImage, platform } = this.#deps;
    this.#tray = new Tray(nativeImage.createFromPath(this.#iconPath(this.#derive())));
    // Windows shows the menu on right click only; a left click opens the status window. macOS
    // shows the menu on any click, and Linux may not deliver clicks at all (the menu has it).
    if (platform === 'win32') this.#tray.on('click', () => this.#deps.onAction({ type: 'open-status' }));
    this.#shown = {};
    this.render();
  }

  destroy(): void {
    this.#tray?.destroy();
    this.#tray = undefined;
  }

  get view(): TrayView {
    return this.#view ?? this.#derive();
  }

  setNow(now: number): void {
    if (now === this.#state.now) return;
    this.#state = { ...this.#state, now };
    this.render();
  }

  setTheme(theme: PanelTheme): void {
    if (theme === this.#state.theme) return;
    this.#state = { ...this.#state, theme };
    this.render();
  }

  setCore(core: TrayState['core']): void {
    if (core.state === this.#state.core.state && core.message === this.#state.core.message) return;
    this.#state = { ...this.#state, core };
    this.render();
  }

  setAccounts(accounts: readonly TrayAccount[], now: number): void {
    if (now === this.#state.now && sameJson(accounts, this.#state.accounts)) return;
    this.#state = { ...this.#state, accounts, now };
    this.render();
  }

  setRequests(requests: readonly ClientRequestView[]): void {
    if (sameJson(requests, this.#state.requests)) return;
    this.#state = { ...this.#state, requests };
    this.render();
  }

  setStartAtLogin(startAtLogin: boolean): void {
    if (startAtLogin === this.#state.startAtLogin) return;
    this.#state = { ...this.#state, startAtLogin };
    this.render();
  }

  /** Derives the view and updates only what changed on screen. */
  render(): void {
    const view = this.#derive();
    const tray = this.#tray;
    if (!tray) return;
    const icon = this.#iconPath(view);
    if (icon !== this.#shown.icon) {
      const image = this.#deps.nativeImage.createFromPath(icon);
      if (image.isEmpty()) this.#deps.log.warn({ icon }, 'tray icon file missing or unreadable');
      if (usesTemplateImages(this.#deps.platform)) image.setTemplateImage(true);
      tray.setImage(image);
      this.#shown.icon = icon;
    }
    if (view.tooltip !== this.#shown.tooltip) {
      tray.setToolTip(view.tooltip);
      this.#shown.tooltip = view.tooltip;
    }
    const menuKey = JSON.stringify(view.menu);
    if (menuKey !== this.#shown.menu) {
      tray.setContextMenu(this.#deps.Menu.buildFromTemplate(this.#template(view.menu)));
      this.#shown.menu = menuKey;
    }
  }

  #derive(): TrayView {
    this.renders += 1;
    this.#view = trayView({
      ...this.#state,
      platform: this.#deps.platform,
      formatTime: this.#deps.formatTime ?? defaultFormatTime,
    });
    return this.#view;
  }

  #iconPath(view: TrayView): string {
    return trayIconPath(this.#deps.buildDir, {
      platform: this.#deps.platform,
      theme: this.#state.theme,
      health: view.health,
    });
  }

  #template(entries: readonly TrayMenuEntry[]): MenuItemConstructorOptions[] {
    return entries.map((entry): MenuItemConstructorOptions => {
      switch (entry.kind) {
        case 'separator':
          return { type: 'separator' };
        case 'submenu':
          return { label: entry.label, submenu: this.#template(entry.entries) };
        case 'checkbox': {
          const action = entry.action;
          return {
            type: 'checkbox',
            label: entry.label,
            checked: entry.checked,
            click: () => {
              this.#deps.onAction(action);
              // Electron has flipped the item's tick by itself; the menu shown no longer matches
              // what render() last built, so it is rebuilt from state (a failed toggle un-ticks).
              this.#shown.menu = undefined;
              this.render();
            },
          };
        }
        case 'item': {
          const action = entry.action;
          return {
            label: entry.label,
            enabled: entry.enabled,
            ...(action ? { click: () => this.#deps.onAction(action) } : {}),
          };
        }
      }
    });
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
