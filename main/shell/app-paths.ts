/**
 * Where the app's files are at run time. In a checkout everything is under the app path. In the
 * packaged app the app path is `resources/app.asar`; the tray icons are unpacked next to it
 * (electron-builder.yml `asarUnpack`), because Electron hands a Windows `.ico` inside the asar to
 * the shell as a copy in %TEMP% that can vanish while the app runs.
 */
import { basename, dirname, join } from 'node:path';

export interface AppPaths {
  /** The folder holding tray/ (the tray icons). */
  readonly trayBuildDir: string;
  readonly rendererDir: string;
  readonly preload: string;
  /** The window and notification icon (Linux, Windows). */
  readonly icon: string;
}

/** `…/app.asar` → `…/app.asar.unpacked` when packaged; the app path itself otherwise. */
export function unpackedRoot(appPath: string, isPackaged: boolean): string {
  if (!isPackaged || basename(appPath) !== 'app.asar') return appPath;
  return join(dirname(appPath), 'app.asar.unpacked');
}

export function appPaths(appPath: string, isPackaged: boolean): AppPaths {
  return {
    trayBuildDir: join(unpackedRoot(appPath, isPackaged), 'build'),
    rendererDir: join(appPath, 'renderer'),
    preload: join(appPath, 'dist', 'renderer', 'preload.cjs'),
    icon: join(appPath, 'build', 'icon.png'),
  };
}
