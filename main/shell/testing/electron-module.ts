/**
 * What `import … from 'electron'` gives main/app.ts in tests (see electron-hooks.mjs): one fake
 * Electron for the whole process, its pieces as named exports, and `fake` to inspect it.
 */
import { join } from 'node:path';
import { createFakeElectron } from './fake-electron.js';

const home = process.env.PKB_TEST_APP_HOME ?? '/nonexistent';

export const fake = createFakeElectron({
  appPath: join(import.meta.dirname, '..', '..', '..'),
  appData: home,
  userData: join(home, 'userData'),
  logs: join(home, 'logs'),
  home,
  // Electron emits ready after the entry module has run: app.test.ts calls fake.app.ready() then.
  ready: false,
});

export const {
  app,
  BrowserWindow,
  Tray,
  Menu,
  nativeImage,
  Notification,
  ipcMain,
  shell,
  clipboard,
  dialog,
  session,
  nativeTheme,
  powerMonitor,
  utilityProcess,
} = fake.electron;
