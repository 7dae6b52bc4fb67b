/**
 * Start at login: off until the user turns it on, and silent when it happens (tray only, no
 * window). macOS and Windows register a login item through Electron; Linux has no such API in
 * Electron (app.setLoginItemSettings is macOS/Windows only), so an XDG autostart entry is
 * written to `$XDG_CONFIG_HOME/autostart/` instead, as desktop environments expect.
 *
 * From a checkout (`npm start`, not packaged) the executable is Electron itself, which needs the
 * app's folder as its first argument: Windows and Linux get it; a macOS login item takes no
 * arguments, so there start at login is refused with a clear error.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { AppLike } from './electron-types.js';
import { StartAtLoginUnavailableError } from './errors/start-at-login-unavailable-error.js';

/** Passed by the login item so that the app starts without opening a window. */
export const HIDDEN_FLAG = '--hidden';
export const AUTOSTART_FILE = 'pikpak-token-broker.desktop';

export interface AutostartDeps {
  readonly app: Pick<AppLike, 'setLoginItemSettings' | 'getLoginItemSettings' | 'isPackaged' | 'getAppPath'>;
  readonly platform: NodeJS.Platform;
  /** The program to start: the AppImage when running from one, else the Electron executable. */
  readonly execPath: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  readonly files?: {
    write(path: string, content: string): Promise<void>;
    remove(path: string): Promise<void>;
  };
}

const realFiles = {
  async write(path: string, content: string): Promise<void> {
    await mkdir(posix.dirname(path), { recursive: true });
    await writeFile(path, content, { mode: 0o644 });
  },
  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  },
};

export function autostartEntryPath(deps: Pick<AutostartDeps, 'env' | 'homedir'>): string {
  const configured = deps.env.XDG_CONFIG_HOME;
  const base = configured && posix.isAbsolute(configured) ? configured : posix.join(deps.homedir, '.config');
  return posix.join(base, 'autostart', AUTOSTART_FILE);
}

/** Quotes an argument for a desktop entry's Exec key (Desktop Entry Specification, "Exec"). */
export function quoteExecArgument(value: string): string {
  return `"${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

export function autostartEntry(program: string, appArgs: readonly string[] = []): string {
  const exec = [program, ...appArgs].map(quoteExecArgument).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=PikPak Token Broker',
    'Comment=Keeps PikPak tokens fresh for AList and other local programs',
    `Exec=${exec} ${HIDDEN_FLAG}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** The program a login item should start. */
export function programPath(deps: Pick<AutostartDeps, 'env' | 'execPath'>): string {
  // An AppImage runs from a temporary mount; the login item must start the AppImage file itself.
  return deps.env.APPIMAGE ?? deps.execPath;
}

/** What Electron needs before our own arguments: the app folder when running unpackaged. */
export function appArguments(deps: Pick<AutostartDeps, 'app' | 'env'>): string[] {
  return deps.app.isPackaged || deps.env.APPIMAGE ? [] : [deps.app.getAppPath()];
}

export async function setStartAtLogin(enabled: boolean, deps: AutostartDeps): Promise<void> {
  const program = programPath(deps);
  const appArgs = appArguments(deps);
  switch (deps.platform) {
    case 'darwin':
      if (enabled && !deps.app.isPackaged) throw new StartAtLoginUnavailableError();
      deps.app.setLoginItemSettings({ openAtLogin: enabled });
      return;
    case 'win32':
      // Electron joins args into the Run key's command line as they are: paths need quotes.
      deps.app.setLoginItemSettings({
        openAtLogin: enabled,
        path: program,
        args: [...appArgs.map((a) => `"${a}"`), HIDDEN_FLAG],
      });
      return;
    default: {
      const files = deps.files ?? realFiles;
      const path = autostartEntryPath(deps);
      if (enabled) await files.write(path, autostartEntry(program, appArgs));
      else await files.remove(path);
    }
  }
}

/**
 * Whether this launch was the login item's: then the app starts quietly, in the tray only. Call
 * it after `ready`: macOS sets `wasOpenedAtLogin` only once the launch event has arrived.
 */
export function launchedAtLogin(
  argv: readonly string[],
  deps: Pick<AutostartDeps, 'app' | 'platform'>,
): boolean {
  if (argv.includes(HIDDEN_FLAG)) return true;
  return deps.platform === 'darwin' && deps.app.getLoginItemSettings().wasOpenedAtLogin === true;
}
