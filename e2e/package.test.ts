/**
 * The npm package as a user gets it: packed from a clean copy of the sources (no dist/, so the
 * prepack build must run), installed globally into an empty prefix with production dependencies
 * only, then every kind of command run through the installed `pikpak-token-broker`: help, login
 * against the emulator (a private keychain), status, the daemon (socket answers, SIGTERM exits 0)
 * and install-service --print, whose ExecStart must name files that exist.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, realpathSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { call } from '../main/service/testing/http-client.js';
import { startEmulator, type Emulator } from './emulator/server.js';
import { childEnv, collect, waitFor, type CliResult } from './support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from './support/keyring-session.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What a clean checkout has that the build reads (tests and e2e/ stay behind on purpose). */
const SOURCES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'main',
  'renderer',
  'bin',
  'scripts',
  'README.md',
  'LICENSE',
];
const USER = 'package-test@example.com';
const PASSWORD = 'package-test-password';

const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

function run(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const result = spawnSync(cmd, args, { cwd, env: env ?? process.env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, `${cmd} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe('npm pack + npm install -g --omit=dev', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let dir: string;
  let prefix: string;
  let bin: string;
  let tarball: string;
  let emulator: Emulator;
  let common: string[];

  const cli = (args: string[], input?: string): Promise<CliResult> =>
    collect(
      spawn(bin, args, {
        cwd: dir,
        env: childEnv({ ...keyring.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` }),
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
      { input, timeoutMs: 60_000 },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-pack-'));
    const source = join(dir, 'src');
    for (const entry of SOURCES)
      cpSync(join(REPO_ROOT, entry), join(source, entry), {
        recursive: true,
        filter: (path) => !path.endsWith('.test.ts'),
      });
    // The build's tools (tsc) from the checkout; the package gets its own node_modules on install.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'));
    const packed = run('npm', ['pack', '--json', '--pack-destination', dir], source);
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(dir, info!.filename);
    (globalThis as { packedFiles?: string[] }).packedFiles = info!.files.map((f) => f.path);
    prefix = join(dir, 'prefix');
    run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
      ],
      dir,
    );
    bin = join(prefix, 'bin', 'pikpak-token-broker');
    emulator = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }] });
    common = [
      '--data-dir',
      join(dir, 'data'),
      '--socket',
      join(dir, 'run', 'broker.sock'),
      '--keychain-service',
      'pkb-package-test',
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
  });

  after(async () => {
    await emulator?.close();
    await keyring.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships only what runs: compiled JS, bin, README, LICENSE', () => {
    const files = (globalThis as { packedFiles?: string[] }).packedFiles!;
    for (const needed of [
      'bin/pikpak-token-broker.js',
      'dist/main/cli.js',
      'dist/main/daemon.js',
      'README.md',
      'LICENSE',
      'package.json',
    ])
      assert.ok(files.includes(needed), `${needed} is packed`);
    const wrong = files.filter(
      (f) =>
        /\.(ts|map)$/.test(f) ||
        /\.test\.js$/.test(f) ||
        /(^|\/)(e2e|\.ci|testing|bench|scripts|renderer|shell)\//.test(f),
    );
    // (npm always packs package.json's "main", dist/main/app.js, the tray app's entry: nothing
    // imports it and Electron is not installed.)
    assert.deepEqual(wrong, []);
  });

  it('installs without dev dependencies (no tsx, no TypeScript)', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'pikpak-token-broker');
    assert.ok(existsSync(join(installed, 'dist/main/cli.js')));
    for (const dev of ['tsx', 'typescript', 'electron'])
      assert.equal(existsSync(join(installed, 'node_modules', dev)), false, `${dev} installed`);
  });

  it('answers --help and login --help', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['daemon', 'login', 'status', 'install-service'])
      assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    const login = await cli(['login', '--help']);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /--password-stdin/);
    const bad = await cli(['daemon', '--listen', '0.0.0.0:1']);
    assert.equal(bad.code, 2, bad.stderr);
  });

  it('signs in, runs the daemon, reports status live, and stops on SIGTERM', async () => {
    const login = await cli(
      ['login', '--account', 'main', '--username', USER, '--password-stdin', ...common],
      `${PASSWORD}\n`,
    );
    assert.equal(login.code, 0, login.stderr);
    const daemon = spawn(bin, ['daemon', ...common], {
      cwd: dir,
      env: childEnv(keyring.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = collect(daemon, { timeoutMs: 60_000 });
    const socketPath = join(dir, 'run', 'broker.sock');
    await waitFor(
      async () => (await call({ socketPath }, '/v1/health').catch(() => undefined))?.status === 200,
      'the installed daemon to answer on its socket',
    );
    // The socket opens before the start-up refresh (busy): the status is read once that is done.
    let parsed: { accounts: { name: string; health: string }[] } = { accounts: [] };
    await waitFor(async () => {
      const status = await cli(['status', '--json', ...common]);
      assert.equal(status.code, 0, status.stderr);
      parsed = JSON.parse(status.stdout) as typeof parsed;
      return parsed.accounts.every((a) => a.health !== 'busy');
    }, 'the start-up refresh to finish');
    assert.deepEqual(
      parsed.accounts.map((a) => [a.name, a.health]),
      [['main', 'ok']],
    );
    daemon.kill('SIGTERM');
    const result = await exited;
    assert.equal(result.code, 0, result.stderr);
  });

  it('install-service --print names an interpreter and a script that exist', async () => {
    const result = await cli(['install-service', '--print', '--data-dir', join(dir, 'data')]);
    assert.equal(result.code, 0, result.stderr);
    const exec = result.stdout.split('\n').find((l) => l.startsWith('ExecStart='))!;
    const [node, script, command] = exec.slice('ExecStart='.length).split(' ');
    assert.ok(existsSync(node!), `${node} exists`);
    assert.ok(existsSync(script!), `${script} exists`);
    assert.equal(
      realpathSync(script!),
      realpathSync(join(prefix, 'lib/node_modules/pikpak-token-broker/bin/pikpak-token-broker.js')),
    );
    assert.equal(command, 'daemon');
    // And what it names runs: the daemon's own help, through the very same words.
    const help = spawnSync(node!, [script!, 'daemon', '--help'], { encoding: 'utf8', env: childEnv() });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--notify-command/);
  });
});

describe('bin/ without dist/ and without tsx', () => {
  it('says what is missing and how to fix it, exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-bare-'));
    try {
      cpSync(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
      cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
      const result = spawnSync(process.execPath, [join(dir, 'bin', 'pikpak-token-broker.js'), '--help'], {
        encoding: 'utf8',
        env: childEnv(),
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(
        result.stderr,
        /dist\/main\/cli\.js is missing and tsx \(a dev dependency\) is not installed/,
      );
      assert.match(result.stderr, /npm run build/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
