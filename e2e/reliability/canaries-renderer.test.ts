/**
 * Secret canaries in the tray app's renderer state: main/app.ts itself, booted under plain Node
 * against the fake Electron (as main/shell/app.test.ts does), with the real core in temp folders,
 * a private gnome-keyring, the AList bridge on, and the PikPak emulator at access-token TTL 1 s.
 *
 * A flow through every window with canary secrets: a wrong password and two sign-ins from the
 * login window, rotations, the status window (refresh now, copy AList setup), a program asking
 * for access and approved from the clients window (its secret goes to the program, never to a
 * page), another denied, a client revoked, the token service used with that secret,
 * invalid_grant with a notification and a re-login from it, an automatic re-login with the stored
 * password, a locked keychain, quit. Everything main hands to pages — every IPC answer, every
 * `webContents.send`, window queries and arguments — and the tray, notifications, clipboard,
 * dialogs, app.log and every file of the app is searched for every canary.
 *
 * Figures: test-results/reliability/canaries-renderer.json.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { register } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  REQUESTS,
  type LoginOutcome,
  type StatusView,
  type WindowKind,
} from '../../main/shell/ipc-channels.js';
import { USER_DATA_FOLDER } from '../../main/shell/app-main.js';
import { FakeIpcMain, type FakeBrowserWindow } from '../../main/shell/testing/fake-electron.js';
import { waitFor } from '../support/cli-process.js';
import {
  startPrivateKeyring,
  usePrivateKeyringInThisProcess,
  type PrivateKeyring,
} from '../support/keyring-session.js';
import {
  canaryValue,
  assertCleanScan,
  CONTROL,
  findCanaries,
  plantControl,
  scanFiles,
  splitControls,
  writeCanaryReport,
  startRecordingEmulator,
  type Canary,
  type Finding,
  type RecordingEmulator,
} from './canaries-scan.js';
import { socketCall } from './keychain-harness.js';

const MAIN = { username: 'renderer-main@example.com', password: canaryValue('pw-renderer-main') };
const SECOND = { username: 'renderer-second@example.com', password: canaryValue('pw-renderer-second') };
const WRONG_PASSWORD = canaryValue('pw-renderer-wrong');
const startedAt = Date.now();

const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('secret canaries in the tray app: IPC, windows, tray, notifications, files', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let recording: RecordingEmulator;
  let home: string;
  after(async () => {
    await recording?.emulator.close();
    await keyring.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it(
    'no canary reaches a page, the tray, a notification, the clipboard, a dialog, the log or a file',
    { timeout: 180_000 },
    async () => {
      usePrivateKeyringInThisProcess(keyring);
      recording = await startRecordingEmulator({ accessTtlSeconds: 1, accounts: [MAIN, SECOND] });
      const { emulator } = recording;
      home = await mkdtemp(join(tmpdir(), 'pkb-canaries-app-'));
      const socket = join(home, 'run', 'broker.sock');
      const dataDir = join(home, 'data');
      Object.assign(process.env, {
        PKB_TEST_APP_HOME: home,
        PIKPAK_BROKER_DATA_DIR: dataDir,
        PIKPAK_BROKER_SOCKET: socket,
        PIKPAK_BROKER_KEYCHAIN_SERVICE: `pkb-canaries-app-${process.pid}`,
        PIKPAK_BROKER_AUTH_BASE_URL: emulator.url,
        PIKPAK_BROKER_DRIVE_BASE_URL: emulator.url,
        PIKPAK_BROKER_LOG_LEVEL: 'trace',
      });
      await mkdir(join(home, USER_DATA_FOLDER), { recursive: true });
      await writeFile(
        join(home, USER_DATA_FOLDER, 'app-settings.json'),
        JSON.stringify({ bridgeEnabled: true, bridgePort: await freePort() }),
      );

      register('../../main/shell/testing/electron-hooks.mjs', import.meta.url);
      const { fake } = await import('../../main/shell/testing/electron-module.js');
      await import('../../main/app.js');
      // Electron emits ready once the entry module has been evaluated.
      fake.app.ready();
      await waitFor(() => fake.windows.length > 0, 'the first window', 30_000);

      /** Everything main handed to a page, as JSON, with where it went. */
      const toPages: { where: string; text: string }[] = [];
      const snapshots: { where: string; text: string }[] = [];
      const windowOf = (kind: WindowKind): FakeBrowserWindow => {
        const window = fake.windows.find((w) => !w.isDestroyed() && w.loaded.file?.endsWith(`${kind}.html`));
        assert.ok(window, `an open ${kind} window`);
        return window;
      };
      const invoke = async <T>(
        kind: WindowKind,
        name: keyof typeof REQUESTS,
        ...args: unknown[]
      ): Promise<T> => {
        const result = await fake.ipcMain.invoke(
          REQUESTS[name].channel,
          FakeIpcMain.from(windowOf(kind)),
          ...args,
        );
        toPages.push({ where: `${kind} ← ${name}`, text: JSON.stringify(result) });
        return result as T;
      };
      const snapshot = (step: string): void => {
        const tray = fake.trays[0]!;
        snapshots.push({
          where: `tray after ${step}`,
          text: JSON.stringify({ tooltip: tray.tooltip, menu: tray.menu?.labels() }),
        });
      };
      const status = (kind: WindowKind = 'status') => invoke<StatusView>(kind, 'getStatus');
      const until = async (what: string, check: (s: StatusView) => boolean, kind: WindowKind = 'status') => {
        let last: StatusView | undefined;
        await waitFor(async () => check((last = await status(kind))), what, 30_000).catch((error: Error) => {
          throw new Error(
            `${error.message}; last: ${JSON.stringify(last?.accounts)} ${JSON.stringify(last?.keychain)}`,
          );
        });
        return last!;
      };
      const lineage = (user: string) => emulator.stats().accounts[user]!.refreshTokenLineage;
      const revoke = async (username: string) => {
        const res = await fetch(`${emulator.url}/__emulator/revoke`, {
          method: 'POST',
          body: JSON.stringify({ username }),
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(res.status, 200);
      };
      const consumerSecrets: Canary[] = [];

      // The login window (no account yet): a wrong password, then two sign-ins.
      assert.match(windowOf('login').loaded.file!, /login\.html$/);
      const form = (account: string, user: typeof MAIN, password: string, rememberPassword: boolean) => ({
        account,
        username: user.username,
        password,
        platform: 'android',
        rememberPassword,
      });
      const refused = await invoke<LoginOutcome>('login', 'login', form('main', MAIN, WRONG_PASSWORD, false));
      assert.equal(refused.ok, false);
      const first = await invoke<LoginOutcome>('login', 'login', form('main', MAIN, MAIN.password, false));
      assert.equal(first.ok, true, JSON.stringify(first));
      const second = await invoke<LoginOutcome>(
        'login',
        'login',
        form('second', SECOND, SECOND.password, true),
      );
      assert.equal(second.ok, true, JSON.stringify(second));
      snapshot('sign-ins');

      // The status window; rotations; refresh now; the AList setup.
      fake.trays[0]!.menu!.click('Open status');
      await until('both accounts healthy', (s) => s.accounts.length === 2 && s.health === 'ok');
      await waitFor(() => lineage(MAIN.username).length >= 4, 'rotations', 30_000);
      const refreshed = await invoke<{ ok: boolean }>('status', 'refreshNow', 'main');
      assert.equal(refreshed.ok, true);
      await invoke('status', 'copyAlistSetup');
      assert.match(fake.clipboard.text, /device_id/);
      snapshot('rotations');

      // A program asks for access and is approved from the clients window; another is denied.
      const ask = async (name: string) => {
        const answer = await socketCall(socket, 'POST', '/v1/client-requests', {
          body: { name, account: 'main' },
        });
        assert.equal(answer.status, 202, answer.text);
        const requestId = answer.json<{ request_id: string }>().request_id;
        consumerSecrets.push({ kind: `request id (${name})`, value: requestId });
        return requestId;
      };
      const approvedTicket = await ask('alist-canary');
      const deniedTicket = await ask('curl-canary');
      await waitFor(
        () => fake.trays[0]!.menu!.labels().some((l) => l.includes('alist-canary')),
        'the tray to show the request',
      );
      snapshot('requests');
      fake.trays[0]!.menu!.click(/“alist-canary” asks for/);
      const clientsWindow = windowOf('clients');
      const requestId = clientsWindow.loaded.query?.request;
      assert.ok(requestId, 'the clients window names the request');
      assert.equal((await invoke<{ ok: boolean }>('clients', 'approveClient', requestId)).ok, true);
      const pending = (await status()).requests.find((r) => r.name === 'curl-canary');
      assert.ok(pending);
      assert.equal((await invoke<{ ok: boolean }>('status', 'denyClient', pending.id)).ok, true);
      const collected = await socketCall(socket, 'GET', '/v1/client-requests/status', {
        bearer: approvedTicket,
      });
      assert.equal(collected.status, 200, collected.text);
      const secret = collected.json<{ secret: string }>().secret;
      consumerSecrets.push({ kind: 'client secret (approved)', value: secret });
      const denied = await socketCall(socket, 'GET', '/v1/client-requests/status', { bearer: deniedTicket });
      assert.equal(denied.status, 403);

      // The program uses its secret: tokens, the PikPak-compatible endpoint, a wrong secret.
      const token = await socketCall(socket, 'GET', '/v1/accounts/main/token', { bearer: secret });
      assert.equal(token.status, 200, token.text);
      const compat = await socketCall(socket, 'POST', '/v1/auth/token', {
        body: { client_id: 'YNxT9w7GMdWvEOKa', grant_type: 'refresh_token', refresh_token: secret },
      });
      assert.equal(compat.status, 200, compat.text);
      const surrogate = compat.json<{ refresh_token: string }>().refresh_token;
      consumerSecrets.push({ kind: 'surrogate refresh token', value: surrogate });
      const wrongSecret = `pkb_${canaryValue('wrong').replace(/-/g, '')}`;
      consumerSecrets.push({ kind: 'wrong client secret', value: wrongSecret });
      assert.equal(
        (await socketCall(socket, 'GET', '/v1/accounts/main/token', { bearer: wrongSecret })).status,
        401,
      );
      snapshot('clients');

      // invalid_grant: main needs a human (a notification, clicked, opens the login window);
      // second signs in again by itself with its stored password.
      await revoke(MAIN.username);
      await revoke(SECOND.username);
      await until(
        'main needing a sign-in, second recovered',
        (s) =>
          s.accounts.find((a) => a.name === 'main')?.state === 'reauth-required' &&
          s.accounts.find((a) => a.name === 'second')?.state === 'healthy' &&
          lineage(SECOND.username).filter((e) => e.issuedBy === 'signin').length >= 2,
      );
      snapshot('reauth');
      const notice = fake.notifications.find((n) => /needs a new sign-in/.test(n.options.title ?? ''));
      assert.ok(notice, 'a notification says main needs a sign-in');
      notice.click();
      assert.equal(windowOf('login').loaded.query?.account, 'main');
      const again = await invoke<LoginOutcome>('login', 'login', form('main', MAIN, MAIN.password, false));
      assert.equal(again.ok, true, JSON.stringify(again));
      await until('main healthy again', (s) =>
        s.accounts.every((a) => a.health === 'ok' || a.health === 'busy'),
      );

      // A locked keychain, then unlocked.
      await keyring.lock();
      await until('the keychain unavailable', (s) => !s.keychain.available);
      snapshot('locked');
      await keyring.unlock();
      await until('the keychain back', (s) => s.keychain.available && s.health === 'ok');

      // Revoke the client from the status window; then quit.
      assert.equal((await invoke<{ ok: boolean }>('status', 'revokeClient', 'alist-canary')).ok, true);
      assert.equal(
        (await socketCall(socket, 'GET', '/v1/accounts/main/token', { bearer: secret })).status,
        401,
      );
      snapshot('revoke');
      fake.trays[0]!.menu!.click('Quit');
      await waitFor(() => !existsSync(join(dataDir, 'broker.lock')), 'the core to stop', 30_000);

      // The search.
      const canaries: Canary[] = [
        ...recording.refreshTokens().map((value) => ({ kind: 'refresh token', value })),
        { kind: 'password (main)', value: MAIN.password },
        { kind: 'password (second)', value: SECOND.password },
        { kind: 'wrong password', value: WRONG_PASSWORD },
        ...consumerSecrets,
        // Positive controls: the account's username is in what pages get; a planted file is found.
        { kind: `${CONTROL}: username`, value: MAIN.username },
        await plantControl(home),
      ];
      const sent = fake.windows.flatMap((w, i) =>
        w.webContents.sent.map((s) => ({
          where: `window ${i} (${w.loaded.file ?? ''}) ← ${s.channel}`,
          text: JSON.stringify(s.args),
        })),
      );
      const windows = fake.windows.map((w, i) => ({
        where: `window ${i} load and options`,
        text: JSON.stringify({
          loaded: w.loaded,
          url: w.webContents.url,
          args: w.options.webPreferences?.additionalArguments,
        }),
      }));
      const others = [
        ...fake.notifications.map((n, i) => ({
          where: `notification ${i}`,
          text: JSON.stringify(n.options),
        })),
        { where: 'clipboard', text: fake.clipboard.text },
        { where: 'dialogs', text: JSON.stringify(fake.dialog.errors) },
        { where: 'shell.openExternal', text: JSON.stringify(fake.shell.opened) },
      ];
      const log = await readFile(join(home, 'logs', 'app.log'), 'utf8');
      const places = [
        ...toPages,
        ...sent,
        ...windows,
        ...snapshots,
        ...others,
        { where: 'app.log', text: log },
      ];
      const inPlaces: Finding[] = places.flatMap((p) => findCanaries(p.text, canaries, p.where));
      const files = await scanFiles([home, keyring.dir], canaries);
      const { controls, leaks: findings } = splitControls([...inPlaces, ...files.findings]);

      const real = canaries.filter((c) => !c.kind.startsWith(CONTROL)).length;
      await writeCanaryReport('tray app (renderer state)', {
        canaries: real,
        places: places.length + files.files,
        checks: real * (places.length + files.files),
        findings: findings.length,
        refreshTokens: canaries.filter((c) => c.kind === 'refresh token').length,
        placesByKind: {
          ipcAnswers: toPages.length,
          webContentsSends: sent.length,
          windows: windows.length,
          traySnapshots: snapshots.length,
          notifications: fake.notifications.length,
          logBytes: log.length,
          files: files.files,
          fileBytes: files.bytes,
        },
        controlsFound: controls.length,
        ms: Date.now() - startedAt,
      });
      assert.ok(sent.length > 0 && toPages.length > 10, 'the pages were sent something to search');
      assert.match(log, /"level":20/, 'the log was at debug level or finer');
      assert.ok(canaries.length > 15);
      assertCleanScan(findings, controls, (where) => where.includes('getStatus'), 'status answers');
    },
  );
});
