/**
 * The Electron entry: the tray app. The only file that imports Electron values; everything under
 * main/shell/ receives them from here (main/shell/app-main.ts boots the app).
 */
import * as Electron from 'electron';
import ElectronStore from 'electron-store';
import { homedir } from 'node:os';
import { runApp } from './shell/app-main.js';
import type { AppStoreConstructor } from './shell/app-settings.js';
import type { ShellElectron } from './shell/electron-types.js';

// The compiler checks here that Electron's modules fit the shell's small types.
const electron: ShellElectron = {
  app: Electron.app,
  BrowserWindow: Electron.BrowserWindow,
  Tray: Electron.Tray,
  Menu: Electron.Menu,
  nativeImage: Electron.nativeImage,
  Notification: Electron.Notification,
  ipcMain: Electron.ipcMain,
  shell: Electron.shell,
  clipboard: Electron.clipboard,
  dialog: Electron.dialog,
  session: Electron.session,
  nativeTheme: Electron.nativeTheme,
  powerMonitor: Electron.powerMonitor,
  utilityProcess: Electron.utilityProcess,
};

runApp({
  electron,
  process: {
    platform: process.platform,
    argv: process.argv,
    execPath: process.execPath,
    env: process.env,
    homedir: homedir(),
  },
  // electron-store's typings leave out options it passes on to conf (configFileMode, …).
  Store: ElectronStore as unknown as AppStoreConstructor,
});
