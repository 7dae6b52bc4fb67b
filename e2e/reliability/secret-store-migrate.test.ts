/**
 * `secret-store migrate` between a real keychain (a private gnome-keyring) and a real secrets.age,
 * killed with SIGKILL at each of its steps (e2e/support/migrate-child.ts), then run again through
 * the real CLI: nothing is lost at any point and the re-run completes. Also: the broker refuses to
 * start on the store that does not hold the secrets, and migrate refuses to run beside a broker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SecretKind } from '../../main/core/ports.js';
import { loadIdentity } from '../../main/storage/age-identity.js';
import { AgeFileSecretStore } from '../../main/storage/age-file-secret-store.js';
import { KeyringSecretStore } from '../../main/storage/keyring-secret-store.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { childEnv, collect, runCli, spawnCli, waitFor } from '../support/cli-process.js';
import {
  startPrivateKeyring,
  usePrivateKeyringInThisProcess,
  type PrivateKeyring,
} from '../support/keyring-session.js';

const USER = 'migrate@example.com';
const PASSWORD = 'migrate-password';
const SERVICE = 'pkb-migrate-test';
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(REPO_ROOT, 'e2e', 'support', 'migrate-child.ts');
/** main's refresh token and password, the bridge CA key: record, 3 copies, verify, record, 3 deletes, done. */
const STEPS = 10;
const SECRETS: [string, SecretKind][] = [
  ['main', 'refresh-token'],
  ['main', 'password'],
  ['_bridge', 'bridge-ca-key'],
];

const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

describe('secret-store migrate, killed at every step', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let emulator: Emulator;
  let root: string;
  let dataDir: string;
  let identity: string;
  let common: string[];
  const original = new Map<string, string>();
  const env = (): Record<string, string> => ({ ...keyring.env });
  const keychain = (): KeyringSecretStore => new KeyringSecretStore({ service: SERVICE });
  const file = async (): Promise<AgeFileSecretStore> =>
    AgeFileSecretStore.open({ dataDir, identity: await loadIdentity({ path: identity, source: 'flag' }) });

  /** Where each secret is now: 'keychain', 'file', 'both' — never nowhere, never a changed value. */
  const whereAre = async (): Promise<string[]> => {
    const k = keychain();
    const f = await file();
    const places: string[] = [];
    for (const [account, kind] of SECRETS) {
      const want = original.get(`${account}/${kind}`)!;
      const inK = await k.get(account, kind);
      const inF = await f.get(account, kind);
      assert.ok(!inK || inK.equals(want), `${account}/${kind} in the keychain is the original`);
      assert.ok(!inF || inF.equals(want), `${account}/${kind} in the file is the original`);
      assert.ok(inK || inF, `${account}/${kind} is lost`);
      places.push(inK && inF ? 'both' : inK ? 'keychain' : 'file');
    }
    return places;
  };

  before(async () => {
    if (skip) return;
    usePrivateKeyringInThisProcess(keyring);
    emulator = await startEmulator({
      accessTtlSeconds: 1,
      accounts: [{ username: USER, password: PASSWORD }],
    });
    root = await mkdtemp(join(tmpdir(), 'pkb-migrate-e2e-'));
    dataDir = join(root, 'data');
    identity = join(root, 'keys', 'identity');
    common = [
      '--data-dir',
      dataDir,
      '--socket',
      join(dataDir, 'broker.sock'),
      '--keychain-service',
      SERVICE,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
    const login = await runCli(
      [
        'login',
        '--account',
        'main',
        '--username',
        USER,
        '--password-stdin',
        '--remember-password',
        ...common,
      ],
      { env: env(), input: `${PASSWORD}\n` },
    );
    assert.equal(login.code, 0, login.stderr);
    const ca = await runCli(['bridge', ...common, 'ca'], { env: env() });
    assert.equal(ca.code, 0, ca.stderr);
    assert.equal(
      (await runCli(['secret-store', 'init', '--identity-file', identity], { env: env() })).code,
      0,
    );
    for (const [account, kind] of SECRETS) {
      const value = await keychain().get(account, kind);
      assert.ok(value, `${account}/${kind} is in the keychain to begin with`);
      original.set(`${account}/${kind}`, value.reveal());
    }
  });
  after(async () => {
    await emulator?.close();
    if (root) await rm(root, { recursive: true, force: true });
    await keyring.stop?.();
  });

  const migrateCli = (to: 'file' | 'keychain') =>
    runCli(['secret-store', 'migrate', '--to', to, '--identity-file', identity, ...common], { env: env() });

  it(
    `kill -9 at each of the ${STEPS} steps loses nothing; running it again completes`,
    { timeout: 600_000 },
    async () => {
      for (let killAt = 0; killAt < STEPS; killAt++) {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            CHILD,
            '--to',
            'file',
            '--kill-at',
            String(killAt),
            '--data-dir',
            dataDir,
            '--keychain-service',
            SERVICE,
            '--identity-file',
            identity,
          ],
          { cwd: REPO_ROOT, env: childEnv(env()), stdio: ['pipe', 'pipe', 'pipe'] },
        );
        const killed = await collect(child, { timeoutMs: 60_000 });
        assert.equal(killed.signal, 'SIGKILL', `step ${killAt}: ${killed.stdout}${killed.stderr}`);
        assert.match(killed.stdout, new RegExp(`STEP ${killAt} `));
        const places = await whereAre();
        if (killAt === 0) assert.deepEqual(places, ['keychain', 'keychain', 'keychain']);
        if (killAt === STEPS - 1) assert.deepEqual(places, ['file', 'file', 'file']);

        if (killAt === 0 || killAt === 5) {
          // While unfinished (spot-checked: each check is one more process), the broker refuses to start on either store.
          const daemon = await runCli(['daemon', ...common], { env: env() });
          assert.equal(daemon.code, 2, daemon.stderr);
          assert.match(
            daemon.stderr,
            /migration to the file store was interrupted; finish it first: pikpak-token-broker secret-store migrate --to file/,
          );
          // And the other direction is refused until this one is finished.
          const back = await migrateCli('keychain');
          assert.equal(back.code, 2, back.stderr);
        }
        const again = await migrateCli('file');
        assert.equal(again.code, 0, `step ${killAt}: ${again.stderr}`);
        if (killAt < STEPS - 1) assert.match(again.stdout, /^Finished the interrupted migration/);
        assert.deepEqual(
          await whereAre(),
          ['file', 'file', 'file'],
          `after the re-run (killed at step ${killAt})`,
        );

        // Back to the keychain for the next round, in one uninterrupted run.
        const reset = await migrateCli('keychain');
        assert.equal(reset.code, 0, reset.stderr);
        assert.match(reset.stdout, /moved 3 secret\(s\) from the file store to the keychain store/);
        assert.deepEqual(await whereAre(), ['keychain', 'keychain', 'keychain']);
        assert.ok(!existsSync(join(dataDir, 'secrets.age')), 'the emptied secrets.age is removed');
      }
    },
  );

  it(
    'after a migrate the broker refuses the store that no longer holds the secrets, and runs on the other',
    { timeout: 120_000 },
    async () => {
      const moved = await migrateCli('file');
      assert.equal(moved.code, 0, moved.stderr);
      assert.match(moved.stdout, /From now on run every command with --secret-store file/);

      const withoutIdentity = await runCli(['daemon', ...common], { env: env() });
      assert.equal(withoutIdentity.code, 2, withoutIdentity.stderr);
      assert.match(
        withoutIdentity.stderr,
        /The keychain holds no refresh token for "main", but .*secrets\.age exists and may\. Start with --secret-store file --identity-file PATH/,
      );
      const withIdentity = await runCli(['daemon', '--identity-file', identity, ...common], { env: env() });
      assert.equal(withIdentity.code, 2, withIdentity.stderr);
      assert.match(withIdentity.stderr, /but the file store does/);

      const signins = emulator.stats().signins;
      const refreshes = emulator.stats().refreshes;
      const daemon = spawnCli(['daemon', '--secret-store', 'file', '--identity-file', identity, ...common], {
        env: env(),
      });
      const done = collect(daemon, { timeoutMs: 60_000 });
      try {
        await waitFor(
          () => emulator.stats().refreshes >= refreshes + 3,
          'the daemon refreshing from secrets.age',
        );
        // Not beside a running broker.
        const busy = await migrateCli('keychain');
        assert.equal(busy.code, 9, busy.stderr);
        assert.match(busy.stderr, /Stop the broker before moving its secrets/);
      } finally {
        daemon.kill('SIGTERM');
      }
      assert.equal((await done).code, 0);
      assert.equal(emulator.stats().signins, signins, 'no sign-in');
      assert.equal(emulator.stats().invalidGrants, 0);

      // Back to the keychain: now a file-store broker is refused, since the keychain holds them.
      assert.equal((await migrateCli('keychain')).code, 0);
      const onFile = await runCli(
        ['daemon', '--secret-store', 'file', '--identity-file', identity, ...common],
        { env: env() },
      );
      assert.equal(onFile.code, 2, onFile.stderr);
      assert.match(
        onFile.stderr,
        /The secrets file holds no refresh token for "main", but the keychain store does\. Start with --secret-store keychain/,
      );
    },
  );
});
