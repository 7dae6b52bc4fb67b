/**
 * Where the broker keeps its files and its socket, per platform. The path functions are pure:
 * they take `{platform, env, homedir}` so every platform is tested on any machine;
 * `currentPlatformContext()` supplies the real values.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { posix, win32 } from 'node:path';
import { InsecureDirectoryError } from '../core/errors/index.js';

export const APP_NAME = 'pikpak-token-broker';
export const SOCKET_NAME = 'broker.sock';

export interface PlatformContext {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  /** Used for the Windows pipe name; defaults to `env.USERNAME`. */
  username?: string | undefined;
  /** A data folder chosen by the user (`--data-dir`): where the socket goes when it falls back to the data folder. */
  dataDir?: string | undefined;
}

export function currentPlatformContext(): PlatformContext {
  let username: string | undefined;
  try {
    username = userInfo().username;
  } catch {
    username = undefined; // no passwd entry (some containers): fall back to the environment
  }
  return { platform: process.platform, env: process.env, homedir: homedir(), username };
}

/** XDG variables count only when set to an absolute path (the XDG spec says to ignore the rest). */
function xdg(ctx: PlatformContext, name: string): string | undefined {
  const value = ctx.env[name];
  return value && posix.isAbsolute(value) ? value : undefined;
}

/**
 * Linux (and other Unixes): `$XDG_DATA_HOME/pikpak-token-broker`, else `~/.local/share/pikpak-token-broker`;
 * macOS: `~/Library/Application Support/pikpak-token-broker`;
 * Windows: `%APPDATA%\pikpak-token-broker`, else `~\AppData\Roaming\pikpak-token-broker`.
 */
export function defaultDataDir(ctx: PlatformContext = currentPlatformContext()): string {
  switch (ctx.platform) {
    case 'win32': {
      const appData = ctx.env.APPDATA && win32.isAbsolute(ctx.env.APPDATA) ? ctx.env.APPDATA : undefined;
      return win32.join(appData ?? win32.join(ctx.homedir, 'AppData', 'Roaming'), APP_NAME);
    }
    case 'darwin':
      return posix.join(ctx.homedir, 'Library', 'Application Support', APP_NAME);
    default:
      return posix.join(xdg(ctx, 'XDG_DATA_HOME') ?? posix.join(ctx.homedir, '.local', 'share'), APP_NAME);
  }
}

/**
 * Linux: `$XDG_RUNTIME_DIR/pikpak-token-broker/broker.sock`, else `<data dir>/broker.sock`
 * (`ctx.dataDir` when given, else the default data folder);
 * macOS: `<data dir>/broker.sock`; Windows: the per-user named pipe `\\.\pipe\pikpak-token-broker-<user>`.
 * On Unix the caller makes the socket's folder private with `ensurePrivateDir(dirname(path))`.
 */
export function defaultSocketPath(ctx: PlatformContext = currentPlatformContext()): string {
  switch (ctx.platform) {
    case 'win32': {
      const user = (ctx.username ?? ctx.env.USERNAME ?? 'user').replace(/[^A-Za-z0-9._-]/g, '_');
      return `\\\\.\\pipe\\${APP_NAME}-${user}`;
    }
    case 'darwin':
      return posix.join(ctx.dataDir ?? defaultDataDir(ctx), SOCKET_NAME);
    default: {
      const runtime = xdg(ctx, 'XDG_RUNTIME_DIR');
      return posix.join(
        runtime ? posix.join(runtime, APP_NAME) : (ctx.dataDir ?? defaultDataDir(ctx)),
        SOCKET_NAME,
      );
    }
  }
}

/**
 * `mkdir -p` then make the folder private (0700). Refuses a path that is not a folder or that
 * belongs to another uid (someone else could read or swap our files). On Windows, where modes and
 * uids do not apply, it only creates the folder (the profile folder's ACL keeps it private).
 */
export async function ensurePrivateDir(path: string, options: { uid?: number } = {}): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    throw new InsecureDirectoryError(path, 'not-a-directory');
  }
  if (process.platform === 'win32') return;
  const info = await stat(path);
  if (!info.isDirectory()) throw new InsecureDirectoryError(path, 'not-a-directory');
  const uid = options.uid ?? process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw new InsecureDirectoryError(path, 'foreign-owner', info.uid);
  if ((info.mode & 0o777) !== 0o700) await chmod(path, 0o700);
}
