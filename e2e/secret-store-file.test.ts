/**
 * `--secret-store file` on a machine with no D-Bus at all (no DBUS_SESSION_BUS_ADDRESS, no
 * XDG_RUNTIME_DIR, no keyring session): the real CLI and daemon in child processes, the emulator
 * at access-token TTL 1 s over real HTTP, Debian's `age` CLI to read secrets.age from outside.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collect, runCli, spawnCli, waitFor } from './support/cli-process.js';
import {
  assertCleanScan,
  plantControl,
  scanFiles,
  splitControls,
  startRecordingEmulator,
  type RecordingEmulator,
} from './reliability/canaries-scan.js';

const USER = 'file-store@example.com';
const PASSWORD = 'file-store-password-canary-5e1d';
/** The bar is "hundreds"; one hundred at TTL 1 s keeps this file near a minute and a half. */
const ROTATIONS = 100;
const AGE = '/usr/bin/age';

describe('the file secret store without D-Bus', () => {
  let recording: RecordingEmulator;
  let root: string;
  let dataDir: string;
  let identity: string;
  let common: string[];
  /** No D-Bus, no runtime folder, no keyring: only PATH, LANG (childEnv) and a private HOME. */
  const bare = (): Record<string, string | undefined> => ({
    HOME: root,
    DBUS_SESSION_BUS_ADDRESS: undefined,
    XDG_RUNTIME_DIR: undefined,
  });
  const fileStore = (): Record<string, string | undefined> => ({
    ...bare(),
    PIKPAK_BROKER_SECRET_STORE: 'file',
    PIKPAK_BROKER_IDENTITY_FILE: identity,
  });
  const stats = () => recording.emulator.stats();
  const lineage = () => stats().accounts[USER]!.refreshTokenLineage;
  const newestRefreshToken = (): string => {
    const tokens = recording.refreshTokens();
    return tokens[tokens.length - 1]!;
  };
  const decrypt = (): { secrets: Record<string, Record<string, string>> } => {
    const out = spawnSync(AGE, ['-d', '-i', identity, join(dataDir, 'secrets.age')], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    return JSON.parse(out.stdout) as { secrets: Record<string, Record<string, string>> };
  };

  before(async () => {
    recording = await startRecordingEmulator({
      accessTtlSeconds: 1,
      accounts: [{ username: USER, password: PASSWORD }],
    });
    root = await mkdtemp(join(tmpdir(), 'pkb-file-store-'));
    dataDir = join(root, 'data');
    identity = join(root, 'keys', 'identity');
    const url = recording.emulator.url;
    common = ['--data-dir', dataDir, '--auth-base-url', url, '--drive-base-url', url];
  });
  after(async () => {
    await recording?.emulator.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the keychain is unavailable here, and the error says to use --secret-store file', async () => {
    const login = await runCli(
      ['login', '--account', 'main', '--username', USER, '--password-stdin', ...common],
      {
        env: bare(),
        input: `${PASSWORD}\n`,
      },
    );
    assert.equal(login.code, 7, login.stderr);
    assert.match(login.stderr, /--secret-store file/);
    assert.match(login.stderr, /secret-store init --identity-file PATH/);
    assert.equal(stats().signins, 0, 'nothing was signed in');
  });

  it('an unknown store, as a flag or in PIKPAK_BROKER_SECRET_STORE, is a usage error (exit 2)', async () => {
    const listing = async (): Promise<string[]> =>
      existsSync(dataDir) ? (await readdir(dataDir)).sort() : [];
    const before = await listing();
    const flag = await runCli(['status', '--secret-store', 'plaintext', ...common], { env: bare() });
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(
      flag.stderr,
      /'--secret-store <store>' argument 'plaintext' is invalid\. Allowed choices are keychain, file/,
    );
    const env = await runCli(['daemon', ...common], {
      env: { ...bare(), PIKPAK_BROKER_SECRET_STORE: 'disk' },
    });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /value 'disk' from env 'PIKPAK_BROKER_SECRET_STORE' is invalid/);
    const init = await runCli(['secret-store', 'init'], { env: bare() });
    assert.equal(init.code, 2, init.stderr);
    assert.match(init.stderr, /secret-store init needs --identity-file PATH/);
    assert.deepEqual(await listing(), before, 'nothing was created');
    assert.ok(!existsSync(identity));
  });

  it('secret-store init creates a private identity, prints its recipient, and refuses to overwrite it', async () => {
    const init = await runCli(['secret-store', 'init', '--identity-file', identity], { env: bare() });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /^age1[0-9a-z]{58}\n$/);
    assert.equal((await stat(identity)).mode & 0o777, 0o600);
    const text = await readFile(identity, 'utf8');
    const again = await runCli(['secret-store', 'init', '--identity-file', identity], { env: bare() });
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /already exists; refusing to overwrite/);
    assert.equal(await readFile(identity, 'utf8'), text);
    // The age CLI agrees on the recipient.
    const keygen = spawnSync('/usr/bin/age-keygen', ['-y', identity], { encoding: 'utf8' });
    assert.equal(keygen.stdout, init.stdout);
  });

  it('signs in with the file store (chosen through the environment)', async () => {
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
      { env: fileStore(), input: `${PASSWORD}\n` },
    );
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /stored in age-encrypted file .*secrets\.age/);
    assert.equal((await stat(join(dataDir, 'secrets.age'))).mode & 0o777, 0o600);
    const doc = decrypt();
    assert.equal(doc.secrets.main?.['refresh-token'], newestRefreshToken());
    assert.equal(doc.secrets.main?.password, PASSWORD);
  });

  it(
    `stays healthy through ${ROTATIONS} rotations, survives kill -9 without a sign-in, and age shows the newest token`,
    { timeout: 300_000 },
    async () => {
      const first = spawnCli(['daemon', '--log-format', 'json', ...common], { env: fileStore() });
      const firstDone = collect(first, { timeoutMs: 300_000 });
      let healthyLines = 0;
      let killed = false;
      first.stderr!.on('data', (chunk: string) => {
        healthyLines += chunk.split('\n').filter((l) => l.includes('"to":"healthy"')).length;
        // kill -9 right after a rotation settled (the next one is ~0.8 s away): a kill inside a
        // refresh is crash-safety.test.ts's subject, not this one's.
        if (!killed && healthyLines >= ROTATIONS && stats().refreshes >= ROTATIONS) {
          killed = true;
          first.kill('SIGKILL');
        }
      });
      const result = await firstDone;
      assert.equal(result.signal, 'SIGKILL', result.stderr.slice(-2000));
      assert.ok(stats().refreshes >= ROTATIONS);
      assert.equal(stats().invalidGrants, 0);

      // Debian's age, with the identity, reads the newest refresh token (the one not yet spent).
      const newest = newestRefreshToken();
      assert.equal(decrypt().secrets.main?.['refresh-token'], newest);
      assert.equal(lineage()[lineage().length - 1]!.usedAt, undefined);

      const refreshesBefore = stats().refreshes;
      const second = spawnCli(['daemon', '--log-format', 'json', ...common], { env: fileStore() });
      const secondDone = collect(second, { timeoutMs: 60_000 });
      try {
        await waitFor(
          () => stats().refreshes >= refreshesBefore + 5,
          'the restarted daemon refreshing',
          30_000,
        );
        const status = await runCli(['status', ...common], { env: fileStore() });
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /^Secrets: +age-encrypted file .*secrets\.age .* — available$/m);
        assert.match(status.stdout, /main .* ok /);
      } finally {
        second.kill('SIGTERM');
      }
      const stopped = await secondDone;
      assert.equal(stopped.code, 0, stopped.stderr.slice(-2000));
      assert.equal(stats().signins, 1, 'kill -9 and restart cost no sign-in');
      assert.equal(stats().invalidGrants, 0);
      assert.equal(stats().accounts[USER]!.reuseAttempts, 0);
      assert.ok(
        lineage().every((e) => e.presentations <= 1),
        'every refresh token presented at most once',
      );
      assert.equal(decrypt().secrets.main?.['refresh-token'], newestRefreshToken());
      assert.ok(!stopped.stderr.includes(PASSWORD) && !stopped.stdout.includes(PASSWORD));
    },
  );

  it('offline status names the file store', async () => {
    const status = await runCli(['status', '--json', ...common], { env: fileStore() });
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout) as {
      keychain: { description: string; available: boolean };
      accounts: { refreshTokenStored: boolean }[];
    };
    assert.match(json.keychain.description, /^age-encrypted file .*secrets\.age \(identity .*identity\)$/);
    assert.equal(json.keychain.available, true);
    assert.equal(json.accounts[0]?.refreshTokenStored, true);
  });

  it('a sign-in through the running file-store broker says the token is in secrets.age, not the keychain', async () => {
    const daemon = spawnCli(['daemon', '--log-format', 'json', ...common], { env: fileStore() });
    const done = collect(daemon, { timeoutMs: 60_000 });
    try {
      await waitFor(
        async () =>
          /^Broker: +running/m.test((await runCli(['status', ...common], { env: fileStore() })).stdout),
        'the daemon answering status',
        30_000,
      );
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
        { env: fileStore(), input: `${PASSWORD}\n` },
      );
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /through the running broker/);
      assert.match(login.stdout, /The refresh token is stored in age-encrypted file .*secrets\.age/);
      assert.doesNotMatch(login.stdout, /keychain/);
    } finally {
      daemon.kill('SIGTERM');
    }
    assert.equal((await done).code, 0);
    assert.equal(decrypt().secrets.main?.['refresh-token'], newestRefreshToken());
  });

  it('no refresh token and no password is anywhere in plaintext under the data folder', async () => {
    const canaries = [
      ...recording.refreshTokens().map((value) => ({ kind: 'refresh token', value })),
      { kind: 'password', value: PASSWORD },
      { kind: 'control: username', value: USER },
    ];
    assert.ok(canaries.length > ROTATIONS);
    const control = await plantControl(dataDir);
    try {
      const scan = await scanFiles([dataDir], [...canaries, control]);
      const { controls, leaks } = splitControls(scan.findings);
      assertCleanScan(leaks, controls, (where) => where.endsWith('settings.json'), 'settings.json');
    } finally {
      await rm(join(dataDir, 'planted-control.txt'));
    }
  });

  it('a wrong or missing identity exits 7 naming the file; secrets.age is untouched', async () => {
    const path = join(dataDir, 'secrets.age');
    const before = await readFile(path);
    const other = join(root, 'keys', 'other');
    assert.equal((await runCli(['secret-store', 'init', '--identity-file', other], { env: bare() })).code, 0);
    for (const [args, pattern] of [
      [['--identity-file', other], /The identity file .*other does not open .*secrets\.age/],
      [['--identity-file', join(root, 'keys', 'absent')], /The identity file .*absent does not exist/],
      [[], /--secret-store file needs an identity and none was given/],
    ] as const) {
      const env = { ...bare(), PIKPAK_BROKER_SECRET_STORE: 'file' };
      const daemon = await runCli(['daemon', ...common, ...args], { env });
      assert.equal(daemon.code, 7, daemon.stderr);
      assert.match(daemon.stderr, pattern);
      const status = await runCli(['status', ...common, ...args], { env });
      assert.equal(status.code, 7, status.stderr);
      assert.match(status.stderr, pattern);
    }
    assert.deepEqual(await readFile(path), before);
    assert.ok(
      !(await readdir(dataDir)).some((n) => n.includes('.corrupt-')),
      'no backup: the file is not corrupt',
    );
  });

  it('a corrupt secrets.age exits 8, is kept as it is, and is backed up once', async () => {
    const path = join(dataDir, 'secrets.age');
    const good = await readFile(path);
    const damaged = Buffer.from(good);
    damaged[damaged.length - 2]! ^= 0xff;
    await writeFile(path, damaged);
    try {
      for (let i = 0; i < 2; i++) {
        const daemon = await runCli(['daemon', ...common], { env: fileStore() });
        assert.equal(daemon.code, 8, daemon.stderr);
        assert.match(
          daemon.stderr,
          /The secrets file .*secrets\.age cannot be used .* a copy is kept at .*secrets\.age\.corrupt-/,
        );
      }
      assert.deepEqual(await readFile(path), damaged, 'kept as it was');
      const backups = (await readdir(dataDir)).filter((n) => n.startsWith('secrets.age.corrupt-'));
      assert.equal(backups.length, 1, 'backed up once');
      assert.deepEqual(await readFile(join(dataDir, backups[0]!)), damaged);
      await rm(join(dataDir, backups[0]!));
    } finally {
      await writeFile(path, good);
    }
    assert.ok(existsSync(path));
  });
});
