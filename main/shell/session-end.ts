/**
 * The OS ending the session (log-off, restart, shutdown). Electron does not emit `before-quit`
 * then, so the core would be killed mid-way; it gives two other signals instead:
 * - Linux and macOS: powerMonitor `shutdown`. Listening to it makes Electron take a delay lock
 *   (logind on Linux); preventDefault asks the system to wait while we stop.
 * - Windows: `session-end` on every top-level window. A tray app may have no window open, so a
 *   hidden one that never loads a page exists only to hear it.
 */
import type { BrowserWindowConstructor, PowerMonitorLike } from './electron-types.js';

export interface SessionEndDeps {
  readonly platform: NodeJS.Platform;
  readonly powerMonitor: PowerMonitorLike;
  readonly BrowserWindow: BrowserWindowConstructor;
  /** Stops the core and quits; called once per session end. */
  readonly onEnd: (reason: string) => void;
}

export function watchSessionEnd(deps: SessionEndDeps): void {
  if (deps.platform === 'win32') {
    const watcher = new deps.BrowserWindow({
      show: false,
      width: 1,
      height: 1,
      skipTaskbar: true,
      focusable: false,
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    watcher.on('session-end', () => deps.onEnd('the Windows session is ending'));
    return;
  }
  deps.powerMonitor.on('shutdown', (event) => {
    event?.preventDefault();
    deps.onEnd('the system is shutting down');
  });
}
