/**
 * The tray app for real: Electron (playwright-core's `_electron`), the built app, the PikPak
 * emulator, a private keychain when one can be started, and a user-data folder of its own.
 * Runs wherever the Electron binary is installed; skips, saying why, where it is not (installed
 * with ELECTRON_SKIP_BINARY_DOWNLOAD=1).
 *
 * The binary's location is read from node_modules/electron/path.txt without `require('electron')`,
 * which would try to download it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { startEmulator, type Emulator } from './emulator/server.js';
import { startPrivateKeyring, type PrivateKeyring } from './support/keyring-session.js';

const REPO = join(import.meta.dirname, '..');
const SKIP_MESSAGE =
  'Electron binary not available (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1); run npm ci without it to run this test';

export function electronBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = join(REPO, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(env.ELECTRON_OVERRIDE_DIST_PATH, relative ?? 'electron')
    : relative && join(dir, 'dist', relative);
  return binary && existsSync(binary) ? binary : undefined;
}

const executablePath = electronBinary();
const skip = executablePath ? false : SKIP_MESSAGE;
const USER = 'tray-e2e@example.com';
const PASSWORD = 'tray-e2e-password';

describe('the tray app in Electron', { skip }, () => {
  let home: string;
  let emulator: Emulator;
  let keyring: PrivateKeyring | undefined;
  let app: ElectronApplication;
  let login: Page;

  before(async () => {
    const built = spawnSync(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: REPO,
        stdio: 'inherit',
      },
    );
    assert.equal(built.status, 0, 'npm run build');
    home = await mkdtemp(join(tmpdir(), 'pkb-electron-'));
    emulator = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }] });
    const started = await startPrivateKeyring();
    keyring = 'skipped' in started ? undefined : started;
    app = await _electron.launch({
      executablePath: executablePath!,
      args: [REPO, `--user-data-dir=${join(home, 'user-data')}`],
      env: {
        ...(keyring ? keyring.env : (process.env as Record<string, string>)),
        PIKPAK_BROKER_DATA_DIR: join(home, 'data'),
        PIKPAK_BROKER_SOCKET: join(home, 'run', 'broker.sock'),
        PIKPAK_BROKER_KEYCHAIN_SERVICE: `pkb-electron-e2e-${process.pid}`,
        PIKPAK_BROKER_AUTH_BASE_URL: emulator.url,
        PIKPAK_BROKER_DRIVE_BASE_URL: emulator.url,
        XDG_CONFIG_HOME: join(home, 'config'),
      },
    });
    login = await app.firstWindow();
  });

  after(async () => {
    await app?.close();
    await emulator?.close();
    await keyring?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('opens the login window first (no account yet), sandboxed, with only its own calls', async () => {
    assert.match(login.url(), /renderer\/login\.html$/);
    assert.equal(await login.evaluate('typeof require'), 'undefined');
    assert.equal(await login.evaluate('typeof process'), 'undefined');
    const calls = (await login.evaluate('Object.keys(window.broker).sort()')) as string[];
    assert.deepEqual(calls, ['closeWindow', 'getStatus', 'login', 'onStatus', 'solveCaptcha']);
    // Electron keeps each window's effective preferences (an undocumented getter, used by DevTools).
    const prefs = (await app.evaluate(({ BrowserWindow }) =>
      BrowserWindow.getAllWindows().map((w) => {
        const contents = w.webContents as unknown as {
          getLastWebPreferences?: () => Record<string, unknown>;
        };
        const p = contents.getLastWebPreferences?.();
        return (
          p && {
            sandbox: p.sandbox,
            contextIsolation: p.contextIsolation,
            nodeIntegration: p.nodeIntegration,
          }
        );
      }),
    )) as (object | undefined)[];
    for (const p of prefs)
      if (p) assert.deepEqual(p, { sandbox: true, contextIsolation: true, nodeIntegration: false });
  });

  it('signs in against the emulator; the account shows in the status', async () => {
    await login.fill('#account', 'main');
    await login.fill('#username', USER);
    await login.fill('#password', PASSWORD);
    await login.click('#submit');
    await login.waitForSelector('#done:not([hidden])', { timeout: 30_000 });
    const status = (await login.evaluate('window.broker.getStatus()')) as {
      accounts: { name: string; health: string }[];
    };
    assert.deepEqual(
      status.accounts.map((a) => [a.name, a.health]),
      [['main', 'ok']],
    );
    assert.equal(emulator.stats().accounts[USER]?.refreshTokenLineage.length ?? 1, 1);
  });

  it('blocks navigation away from our page', async () => {
    await login.evaluate('location.href = "https://example.com/"').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.match(login.url(), /renderer\/login\.html/);
  });
});
