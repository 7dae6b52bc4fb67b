/**
 * The headless daemon for real: the CLI in child processes, a private gnome-keyring session,
 * the PikPak emulator at access-token TTL 1 s over real HTTP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startEmulator, type Emulator } from './emulator/server.js';
import { childEnv, collect, runCli, spawnCli, waitFor, type CliResult } from './support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from './support/keyring-session.js';

const USER = 'daemon-test@example.com';
const PASSWORD = 'daemon-test-password';
const ROTATIONS = 200;
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CRASH_DAEMON = join(REPO_ROOT, 'e2e', 'reliability', 'crash-daemon.ts');

const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

describe('daemon against the emulator with a real keychain', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let emulator: Emulator;
  let dataDir: string;
  let common: string[];
  const env = (): Record<string, string> => ({ ...keyring.env });

  before(async () => {
    emulator = await startEmulator({
      accessTtlSeconds: 1,
      accounts: [{ username: USER, password: PASSWORD }],
    });
    dataDir = await mkdtemp(join(tmpdir(), 'pkb-daemon-'));
    common = [
      '--data-dir',
      dataDir,
      '--keychain-service',
      'pkb-daemon-test',
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
  });

  after(async () => {
    await emulator?.close();
    await keyring.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const lineage = () => emulator.stats().accounts[USER]!.refreshTokenLineage;

  it('signs in through the CLI and stores the refresh token only in the keychain', async () => {
    const result = await runCli(
      ['login', '--account', 'main', '--username', USER, '--password-stdin', ...common],
      {
        env: env(),
        input: `${PASSWORD}\n`,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Signed in: account "main"/);
    const settings = await readFile(join(dataDir, 'settings.json'), 'utf8');
    assert.match(settings, /"username": ?"daemon-test@example\.com"/);
    assert.ok(!settings.includes(PASSWORD), 'no password in the settings file');
    for (const file of await readdir(dataDir)) {
      const text = await readFile(join(dataDir, file), 'utf8').catch(() => '');
      assert.ok(!text.includes(PASSWORD), `password found in ${file}`);
    }
    assert.equal(emulator.stats().signins, 1);
  });

  it(
    `keeps the account healthy through ${ROTATIONS} rotations with no refresh token used twice`,
    { timeout: 400_000 },
    async () => {
      const daemon = spawnCli(['daemon', '--log-format', 'json', ...common], { env: env() });
      const done = collect(daemon, { timeoutMs: 400_000 });
      try {
        await waitFor(() => emulator.stats().refreshes >= ROTATIONS, `${ROTATIONS} rotations`, 360_000);

        // A second daemon on the same data folder refuses to refresh and names the holder.
        const second = await runCli(['daemon', ...common], { env: env() });
        assert.equal(second.code, 9, second.stderr);
        assert.match(second.stderr, new RegExp(`pid ${daemon.pid}`));
      } finally {
        daemon.kill('SIGTERM');
      }
      const result: CliResult = await done;
      assert.equal(result.code, 0, `daemon exit: ${result.stderr.slice(-2000)}`);
      const stats = emulator.stats();
      assert.equal(stats.invalidGrants, 0);
      assert.equal(stats.accounts[USER]!.reuseAttempts, 0);
      assert.ok(
        lineage().every((e) => e.presentations <= 1),
        'every refresh token presented at most once',
      );
      assert.ok(lineage().filter((e) => e.usedAt !== undefined).length >= ROTATIONS);
      assert.equal(stats.signins, 1, 'no new sign-in was needed');
      assert.ok(!result.stderr.includes(PASSWORD));
    },
  );

  it('resumes from the keychain after kill -9, without a new sign-in', async () => {
    // A kill -9 at a fixed point, not at random (one landing inside a refresh may rightly end in
    // reauth-required): the real daemon, stopped by crash-daemon.ts right after refresh 3 saved
    // its rotated token to the keychain, before it cleared its intent. Every other step, with and
    // without a stored password, is in e2e/reliability/crash-safety.test.ts.
    const first = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CRASH_DAEMON,
        '--crash-at',
        'after-keychain-write',
        '--crash-on-refresh',
        '3',
        '--log-format',
        'json',
        ...common,
      ],
      { cwd: REPO_ROOT, env: childEnv(env()), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const firstDone = collect(first, { timeoutMs: 60_000 });
    let marker = '';
    first.stdout!.on('data', (d: string) => (marker += d));
    await waitFor(() => marker.includes('CRASHPOINT after-keychain-write'), 'the first daemon at refresh 3');
    first.kill('SIGKILL');
    assert.equal((await firstDone).signal, 'SIGKILL');
    const settings = JSON.parse(await readFile(join(dataDir, 'settings.json'), 'utf8')) as {
      accounts: { refreshIntent?: unknown }[];
    };
    assert.ok(
      settings.accounts[0]?.refreshIntent,
      'killed between the keychain write and clearing the intent',
    );

    const afterKill = emulator.stats().refreshes;
    const second = spawnCli(['daemon', '--log-format', 'json', ...common], { env: env() });
    const secondDone = collect(second, { timeoutMs: 60_000 });
    await waitFor(() => emulator.stats().refreshes >= afterKill + 5, 'restarted daemon refreshing', 30_000);
    second.kill('SIGTERM');
    const result = await secondDone;
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    const stats = emulator.stats();
    assert.equal(stats.signins, 1, 'the restart needed no sign-in');
    assert.equal(stats.invalidGrants, 0);
    assert.ok(lineage().every((e) => e.presentations <= 1));
  });

  it('reports status with the account and the keychain', async () => {
    const result = await runCli(['status', '--json', ...common], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as {
      broker: { running: boolean };
      keychain: { available: boolean };
      accounts: { name: string; refreshTokenStored: boolean }[];
    };
    assert.equal(status.broker.running, false);
    assert.equal(status.keychain.available, true);
    assert.deepEqual(
      status.accounts.map((a) => [a.name, a.refreshTokenStored]),
      [['main', true]],
    );
  });

  it('refuses bad input clearly and changes nothing', async () => {
    const settingsBefore = await readFile(join(dataDir, 'settings.json'), 'utf8');
    const signinsBefore = emulator.stats().signins;

    const unknown = await runCli(['logout', '--account', 'nope', ...common], { env: env() });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No account named "nope"\. Known accounts: main/);

    const wrong = await runCli(
      ['login', '--account', 'other', '--username', USER, '--password-stdin', ...common],
      {
        env: env(),
        input: 'not-the-password',
      },
    );
    assert.equal(wrong.code, 5, wrong.stderr);
    assert.match(wrong.stderr, /PikPak/);
    assert.ok(!wrong.stderr.includes('not-the-password'));

    const badName = await runCli(
      ['login', '--account', '../evil', '--username', USER, '--password-stdin', ...common],
      {
        env: env(),
        input: PASSWORD,
      },
    );
    assert.equal(badName.code, 2);

    const badPlatform = await runCli(
      ['login', '--account', 'x', '--username', USER, '--platform', 'ios', ...common],
      {
        env: env(),
      },
    );
    assert.equal(badPlatform.code, 2);
    assert.match(badPlatform.stderr, /ios/);

    assert.equal(
      await readFile(join(dataDir, 'settings.json'), 'utf8'),
      settingsBefore,
      'settings untouched',
    );
    assert.equal(emulator.stats().signins, signinsBefore);
  });

  it('refuses to sign in while the keychain is locked, and changes nothing', async () => {
    const settingsBefore = await readFile(join(dataDir, 'settings.json'), 'utf8');
    await keyring.lock();
    try {
      const locked = await runCli(
        ['login', '--account', 'second', '--username', USER, '--password-stdin', ...common],
        {
          env: env(),
          input: PASSWORD,
        },
      );
      assert.equal(locked.code, 7, locked.stderr);
      assert.match(locked.stderr, /keychain/i);
      assert.match(locked.stderr, /Nothing was changed/);
    } finally {
      await keyring.unlock();
    }
    assert.equal(await readFile(join(dataDir, 'settings.json'), 'utf8'), settingsBefore);
  });

  it('keeps a corrupt settings file, says where, and refuses to start', async () => {
    const path = join(dataDir, 'settings.json');
    const good = await readFile(path, 'utf8');
    await writeFile(path, '{"version": 1, "accounts": [ {"name": "main", ');
    try {
      const status = await runCli(['status', ...common], { env: env() });
      assert.equal(status.code, 8, status.stderr);
      assert.match(status.stderr, /settings\.json/);
      const daemon = await runCli(['daemon', ...common], { env: env() });
      assert.equal(daemon.code, 8, daemon.stderr);
      assert.equal(
        await readFile(path, 'utf8'),
        '{"version": 1, "accounts": [ {"name": "main", ',
        'the corrupt file is kept as it was',
      );
      assert.ok(
        (await readdir(dataDir)).some((f) => f.startsWith('settings.json.corrupt-')),
        'a backup copy exists',
      );
    } finally {
      await writeFile(path, good);
    }
  });
});
