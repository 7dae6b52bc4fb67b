/**
 * A restart never costs a sign-in (issue 13 §4): the real daemon is stopped — SIGTERM, kill -9,
 * or kill -9 just before the retry's call goes out — while it backs off after an upstream 503, a
 * timeout PikPak never answered, or a refused connection, then started again with the real CLI.
 *
 * Each trial: a fresh data folder, emulator and emulator account; `login` through the CLI; the
 * daemon started while PikPak fails; the stop once settings.json records what the failed call
 * proved (the refresh intent's state); offline `status` says it in words; then
 * `pikpak-token-broker daemon` again with PikPak well. Expected, with and without a stored
 * password: healthy again with no sign-in, 0 invalid_grant, and in the emulator's lineage every
 * refresh token presented at most once — the token the failed calls carried exactly once, by the
 * restart. (A token whose call died mid-flight is the crash-safety suite's case: never re-sent.)
 * One more trial shows the unprovable case: PikPak rotated and then never answered; the restart
 * retries the same token as the run would have, PikPak says invalid_grant (the one deliberate
 * second presentation), and the stored password signs in by itself.
 * Figures: test-results/reliability/restart-intent.json.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BrokerClient } from '../../main/cli/broker-client.js';
import type { AccountRecord, BrokerSettings, RefreshIntentState } from '../../main/core/ports.js';
import type { RuntimeConfig } from '../../main/runtime/config.js';
import { startEmulator, type Emulator, type FaultSpec } from '../emulator/server.js';
import type { RefreshTokenLineageEntry } from '../emulator/types.js';
import { childEnv, collect, runCli, spawnCli, waitFor } from '../support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';
import { MARKER } from './crash-points.js';
import { writeReport } from './report.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRASH_DAEMON = join(REPO_ROOT, 'e2e', 'reliability', 'crash-daemon.ts');
const ACCOUNT = 'main';
const LANES = 3;
/** A kill -9 that landed while a retry was on the wire is that suite's case, not this one: run again. */
const MAX_RERUNS = 2;

/** `timeout-rotated`: PikPak rotated, then never answered — the one outcome a restart cannot prove. */
type Failure = '503' | 'timeout' | 'refused' | 'timeout-rotated';
/** `before-sending`: kill -9 at the retry's write-ahead, the last moment before its call leaves. */
type Stop = 'SIGTERM' | 'SIGKILL' | 'before-sending';

interface Spec {
  readonly index: number;
  readonly failure: Failure;
  readonly stop: Stop;
  readonly password: boolean;
}

const EXPECTED: Readonly<Record<Failure, RefreshIntentState>> = {
  '503': 'answered-transient',
  timeout: 'outcome-unknown',
  'timeout-rotated': 'outcome-unknown',
  refused: 'not-sent',
};

/** What offline `status` says for each state. */
const STATUS_WORDS: Readonly<Record<Failure, RegExp>> = {
  '503':
    /PikPak answered the last refresh with a temporary error; the stored token is unspent and will be used/,
  timeout:
    /the last refresh got no answer \(timeout or dropped connection\); the next start retries with the same token/,
  'timeout-rotated':
    /the last refresh got no answer \(timeout or dropped connection\); the next start retries with the same token/,
  refused:
    /the last refresh call never reached PikPak \(connection refused or no route\); the stored token is unspent/,
};

const SPECS: Spec[] = (
  [
    ['503', 'SIGTERM', false],
    ['503', 'SIGTERM', true],
    ['503', 'SIGKILL', false],
    ['503', 'SIGKILL', true],
    ['503', 'before-sending', false],
    ['503', 'before-sending', true],
    ['timeout', 'SIGTERM', false],
    ['timeout', 'SIGKILL', true],
    ['timeout', 'before-sending', false],
    // The same-run rule for a lost answer, across a restart: the same token once more; PikPak had
    // rotated it, so invalid_grant, and the stored password signs in (the only sign-in here).
    ['timeout-rotated', 'before-sending', true],
    ['refused', 'SIGTERM', false],
    ['refused', 'SIGKILL', true],
  ] as const
).map(([failure, stop, password], index) => ({ index, failure, stop, password }));

interface Result extends Spec {
  readonly ms: number;
  readonly firstRunCalls: number;
  /** The lost-answer retry's token (the `timeout-rotated` trial), presented twice on purpose. */
  readonly resentOnPurpose?: string;
}

class KilledMidCall extends Error {}

interface StatusAccount {
  name: string;
  state: string;
  description: string;
}

const keyringProbe = await startPrivateKeyring();
const skip = 'skipped' in keyringProbe ? `no private keychain: ${keyringProbe.skipped}` : false;

describe('a restart during the back-off never costs a sign-in', { skip }, () => {
  const keyring = keyringProbe as PrivateKeyring;
  const emulators: Emulator[] = [];

  before(async () => {
    for (let i = 0; i < LANES; i++) emulators.push(await startEmulator({ accessTtlSeconds: 3600 }));
  });

  after(async () => {
    for (const emulator of emulators) await emulator.close();
    await keyring.stop();
  });

  it(
    `${SPECS.length} trials: {503, timeout, refused} × {SIGTERM, kill -9, kill -9 before the retry is sent} × {stored password, none}, and a lost answer after PikPak rotated`,
    { timeout: 480_000 },
    async () => {
      const started = Date.now();
      const results: Result[] = [];
      const failures: string[] = [];
      const reruns: string[] = [];
      const queue = [...SPECS];
      await Promise.all(
        emulators.map(async (emulator) => {
          for (let spec = queue.shift(); spec; spec = queue.shift()) {
            try {
              results.push(await runTrial(emulator, keyring, spec));
            } catch (error) {
              const label = `trial ${spec.index} (${spec.failure}, ${spec.stop}, ${spec.password ? 'password' : 'no password'})`;
              if (
                error instanceof KilledMidCall &&
                reruns.filter((r) => r.startsWith(`${label}:`)).length < MAX_RERUNS
              ) {
                reruns.push(`${label}: ${error.message}`);
                queue.push(spec);
              } else failures.push(`${label}: ${(error as Error).stack ?? String(error)}`);
            }
          }
        }),
      );
      const stats = emulators.map((e) => e.stats());
      const lineage = stats.flatMap((s) => Object.values(s.accounts).flatMap((a) => a.refreshTokenLineage));
      const report = await writeReport('restart-intent', {
        trials: SPECS.length,
        completed: results.length,
        durationMs: Date.now() - started,
        reruns,
        emulator: {
          refreshTokens: lineage.length,
          maxPresentations: Math.max(0, ...lineage.map((e) => e.presentations)),
          invalidGrants: stats.reduce((n, s) => n + s.invalidGrants, 0),
          signins: stats.reduce((n, s) => n + s.signins, 0),
        },
        results,
        failures,
      });
      console.log(
        `restart during back-off: ${results.length}/${SPECS.length} trials in ${((Date.now() - started) / 1000).toFixed(1)} s, ${reruns.length} rerun(s) (${report})`,
      );
      assert.deepEqual(failures, []);
      assert.equal(results.length, SPECS.length);
      const onPurpose = new Set(results.flatMap((r) => (r.resentOnPurpose ? [r.resentOnPurpose] : [])));
      assert.equal(
        stats.reduce((n, s) => n + s.invalidGrants, 0),
        onPurpose.size,
        'no invalid_grant but the lost-answer retry PikPak had already answered',
      );
      assert.deepEqual(
        lineage.filter((e) => e.presentations > (onPurpose.has(e.id) ? 2 : 1)).map((e) => e.id),
        [],
        'no refresh token presented twice, but the lost-answer retry',
      );
    },
  );
});

// ── one trial ────────────────────────────────────────────────────────────────────────────────

async function runTrial(emulator: Emulator, keyring: PrivateKeyring, spec: Spec): Promise<Result> {
  const started = Date.now();
  const username = `restart-${spec.index}-${randomBytes(3).toString('hex')}@example.com`;
  const password = randomBytes(12).toString('base64url');
  emulator.addAccount({ username, password });
  const dataDir = await mkdtemp(join(tmpdir(), 'pkb-restart-'));
  const config: RuntimeConfig = {
    dataDir,
    socketPath: join(dataDir, 'broker.sock'),
    keychainService: `pkb-restart-${process.pid}-${spec.index}-${randomBytes(2).toString('hex')}`,
    upstream: {},
  };
  const base = [
    '--data-dir',
    dataDir,
    '--socket',
    config.socketPath,
    '--keychain-service',
    config.keychainService,
  ];
  const upstream = (url: string) => ['--auth-base-url', url, '--drive-base-url', url];
  const common = [...base, ...upstream(emulator.url)];
  const env = { ...keyring.env };
  const lineage = (): RefreshTokenLineageEntry[] => emulator.stats().accounts[username]!.refreshTokenLineage;
  const invalidGrantsBefore = emulator.stats().invalidGrants;
  try {
    const login = await runCli(
      [
        'login',
        '--account',
        ACCOUNT,
        '--username',
        username,
        '--password-stdin',
        ...(spec.password ? ['--remember-password'] : []),
        ...common,
      ],
      { env, input: password, timeoutMs: 60_000 },
    );
    assert.equal(login.code, 0, `login: ${login.stderr}`);
    const [signedIn] = lineage();
    assert.ok(signedIn && lineage().length === 1, 'login left one refresh token');

    // ── the first run: PikPak fails, the daemon backs off, and is stopped ──
    const tokenCallsBefore = emulator.stats().requests.token ?? 0;
    const expected = EXPECTED[spec.failure];
    const fault: FaultSpec | undefined =
      spec.failure === '503'
        ? { endpoint: 'token', kind: 'status', status: 503 }
        : spec.failure === 'timeout'
          ? { endpoint: 'token', kind: 'timeout' }
          : spec.failure === 'timeout-rotated'
            ? { endpoint: 'token', kind: 'timeout', timing: 'after' }
            : undefined;
    if (fault) emulator.setFault(spec.stop === 'before-sending' ? { ...fault, count: 1 } : fault);
    const firstUpstream =
      spec.failure === 'refused' ? upstream(await closedPortUrl()) : upstream(emulator.url);
    let firstLog: string;
    try {
      firstLog =
        spec.stop === 'before-sending'
          ? await killBeforeRetry([...base, ...firstUpstream], env)
          : await stopDuringBackoff([...base, ...firstUpstream], env, spec.stop, dataDir, expected);
    } finally {
      emulator.clearFaults();
    }
    const record = await readRecord(dataDir);
    if (spec.stop === 'SIGKILL' && record.refreshIntent?.state === 'in-flight')
      throw new KilledMidCall('the kill -9 landed while a retry was on the wire');
    assert.equal(
      record.refreshIntent?.state,
      expected,
      `the intent records what the failed call proved: ${firstLog.slice(-2000)}`,
    );
    assert.equal(
      record.refreshIntent?.tokenFingerprint,
      signedIn.id,
      'and names the token the keychain holds',
    );
    assert.equal(record.reauth, undefined);
    const firstRunCalls = (emulator.stats().requests.token ?? 0) - tokenCallsBefore;
    const rotatedBeforeStop = spec.failure === 'timeout-rotated';
    assert.equal(
      lineage().find((e) => e.id === signedIn.id)!.presentations,
      rotatedBeforeStop ? 1 : 0,
      rotatedBeforeStop
        ? 'PikPak handled the token (and its answer was lost)'
        : 'PikPak never handled the token',
    );

    // ── offline status says what the last run knew ──
    const status = await runCli(['status', ...common], { env, timeoutMs: 30_000 });
    assert.match(status.stdout, STATUS_WORDS[spec.failure], status.stdout + status.stderr);
    assert.doesNotMatch(status.stdout, /re-login needed|rotating/);

    // ── restart with PikPak well: healthy, no sign-in ──
    const restarted = await runDaemon(config, common, env, (account) => account.state === 'healthy');
    assert.equal(restarted.account.state, 'healthy', restarted.account.description);
    const final = lineage();
    if (rotatedBeforeStop) {
      assert.equal(
        final.find((e) => e.id === signedIn.id)!.presentations,
        2,
        'sent once more, as the run would',
      );
      assert.equal(emulator.stats().invalidGrants, invalidGrantsBefore + 1, 'PikPak said it was spent');
      assert.equal(final.filter((e) => e.issuedBy === 'signin').length, 2, 'the stored password signed in');
      assert.deepEqual(
        final.filter((e) => e.id !== signedIn.id && e.presentations > 1).map((e) => e.id),
        [],
        'no other token presented twice',
      );
      assert.equal((await readRecord(dataDir)).refreshIntent, undefined, 'the intent is settled');
      return { ...spec, ms: Date.now() - started, firstRunCalls, resentOnPurpose: signedIn.id };
    }
    assert.equal(final.filter((e) => e.issuedBy === 'signin').length, 1, 'no sign-in after the login');
    assert.equal(final.find((e) => e.id === signedIn.id)!.presentations, 1, 'the restart presented it, once');
    assert.ok(
      final.some((e) => e.parent === signedIn.id),
      'and PikPak rotated it',
    );
    assert.deepEqual(
      final.filter((e) => e.presentations > 1).map((e) => `${e.id}×${e.presentations}`),
      [],
      'no refresh token presented twice',
    );
    assert.equal(emulator.stats().accounts[username]!.reuseAttempts, 0);
    assert.equal(emulator.stats().invalidGrants, invalidGrantsBefore, 'no invalid_grant');
    const settled = await readRecord(dataDir);
    assert.equal(settled.refreshIntent, undefined, 'the intent is settled');
    assert.equal(settled.reauth, undefined);
    assert.doesNotMatch(restarted.log, /not sent again|re-login needed/);
    return { ...spec, ms: Date.now() - started, firstRunCalls };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The real daemon, stopped with `signal` once settings.json records `expected` (the back-off has begun). */
async function stopDuringBackoff(
  args: string[],
  env: Record<string, string>,
  signal: 'SIGTERM' | 'SIGKILL',
  dataDir: string,
  expected: RefreshIntentState,
): Promise<string> {
  const daemon: ChildProcess = spawnCli(['daemon', '--log-format', 'json', ...args], { env });
  const done = collect(daemon, { timeoutMs: 120_000 });
  try {
    await waitFor(
      async () => {
        if (daemon.exitCode !== null) throw new Error(`the daemon exited (${daemon.exitCode})`);
        return (await readRecord(dataDir).catch(() => undefined))?.refreshIntent?.state === expected;
      },
      `the intent to say ${expected}`,
      60_000,
    );
  } catch (error) {
    daemon.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; daemon log: ${(await done).stderr.slice(-3000)}`);
  }
  daemon.kill(signal);
  const result = await done;
  if (signal === 'SIGTERM')
    assert.equal(result.code, 0, `a clean stop on SIGTERM: ${result.stderr.slice(-2000)}`);
  else assert.equal(result.signal, 'SIGKILL');
  return result.stderr;
}

/**
 * crash-daemon.ts stopped at refresh 2's write-ahead: refresh 1 (start-up) failed and recorded its
 * outcome, the back-off ran out, and the retry's intent is about to be written — kill -9 there.
 */
async function killBeforeRetry(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CRASH_DAEMON,
      '--crash-at',
      'before-upstream',
      '--crash-on-refresh',
      '2',
      '--log-format',
      'json',
      ...args,
    ],
    { cwd: REPO_ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_c, s) => resolve(s)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no crash point within 60 s: ${stderr.slice(-3000)}`)),
        60_000,
      );
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === `${MARKER} before-upstream`) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`the crash daemon exited early: ${stderr.slice(-3000)}`)));
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    return stderr;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

/** `pikpak-token-broker daemon` until `settled` holds for the account, then SIGTERM (exit 0). */
async function runDaemon(
  config: RuntimeConfig,
  common: string[],
  env: Record<string, string>,
  settled: (account: StatusAccount) => boolean,
): Promise<{ account: StatusAccount; log: string }> {
  const daemon: ChildProcess = spawnCli(['daemon', '--log-format', 'json', ...common], { env });
  const done = collect(daemon, { timeoutMs: 120_000 });
  let account: StatusAccount | undefined;
  let lastSeen: StatusAccount | undefined;
  try {
    await waitFor(
      async () => {
        if (daemon.exitCode !== null) throw new Error(`the daemon exited (${daemon.exitCode})`);
        const found = await liveAccount(config);
        lastSeen = found ?? lastSeen;
        if (found && settled(found)) account = found;
        return account !== undefined;
      },
      'the restarted daemon to settle',
      60_000,
    );
  } catch (error) {
    daemon.kill('SIGKILL');
    const result = await done;
    throw new Error(
      `${(error as Error).message}; last state ${JSON.stringify(lastSeen)}; daemon log: ${result.stderr.slice(-3000)}`,
    );
  }
  daemon.kill('SIGTERM');
  const result = await done;
  assert.equal(result.code, 0, `the daemon stops on SIGTERM: ${result.stderr.slice(-2000)}`);
  return { account: account!, log: result.stderr };
}

async function liveAccount(config: RuntimeConfig): Promise<StatusAccount | undefined> {
  const client = await BrokerClient.connect(config);
  if (!client) return undefined;
  const status = await client.call<{ accounts: StatusAccount[] }>('GET', '/v1/status');
  return status.accounts.find((a) => a.name === ACCOUNT);
}

async function readRecord(dataDir: string): Promise<AccountRecord> {
  const settings = JSON.parse(await readFile(join(dataDir, 'settings.json'), 'utf8')) as BrokerSettings;
  const record = settings.accounts.find((a) => a.name === ACCOUNT);
  assert.ok(record, 'the account is in settings.json');
  return record;
}

/** An http:// URL on a port nothing listens on (bound, then closed): connections are refused. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
