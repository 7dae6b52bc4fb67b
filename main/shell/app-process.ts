/**
 * Process-level conventions of the app: its identity, one instance per user, a tray-only
 * presence on macOS, and a guard on every web page the process ever creates.
 */
import type { Logger } from '../core/ports.js';
import type { AppLike, ShellModule } from './electron-types.js';
import { openExternalIfSafe } from './windows.js';

/** Also electron-builder's appId: Windows ties notifications and the Start-menu shortcut to it. */
export const APP_ID = 'io.github.pikpak-token-broker';

/**
 * Windows shows a notification only for an app with an AppUserModelID that matches a Start-menu
 * shortcut. The NSIS installer creates one with electron-builder's appId; a checkout has none, and
 * there Electron's own default (the executable's path) is what Windows accepts.
 */
export function setupAppIdentity(
  app: Pick<AppLike, 'setAppUserModelId' | 'isPackaged'>,
  platform: NodeJS.Platform,
  execPath: string,
): void {
  if (platform === 'win32') app.setAppUserModelId(app.isPackaged ? APP_ID : execPath);
}

/**
 * One app per user session. A second launch exits at once and the first opens its status window
 * (the user clicked the app icon again, so they want to see it). Returns false in the second one.
 */
export function setupSingleInstance(
  app: Pick<AppLike, 'requestSingleInstanceLock' | 'on'>,
  onSecondLaunch: () => void,
): boolean {
  if (!app.requestSingleInstanceLock()) return false;
  app.on('second-instance', () => onSecondLaunch());
  return true;
}

/** A tray app: no Dock icon on macOS (electron-builder also sets LSUIElement). */
export function setupDock(app: Pick<AppLike, 'dock'>, platform: NodeJS.Platform): void {
  if (platform === 'darwin') app.dock?.hide();
}

/**
 * Every web page of the process — ours and the captcha window — may neither embed a <webview> nor
 * open windows (https links go to the browser). Per-window rules (navigation) are set where each
 * window is made.
 */
export function setupWebContentsGuard(
  app: Pick<AppLike, 'on'>,
  deps: { readonly shell: ShellModule; readonly log: Logger },
): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      openExternalIfSafe(url, deps);
      return { action: 'deny' };
    });
  });
}
