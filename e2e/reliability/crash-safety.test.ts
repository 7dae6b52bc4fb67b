/**
 * Crash safety (issue 8): kill -9 the daemon at every step of a refresh, with and without a stored
 * password, and restart it with the real CLI.
 *
 * Each trial: a fresh data folder, emulator account and keychain service; `login` through the CLI;
 * the daemon (crash-daemon.ts: the real one, its adapters wrapped) stopped at one step of refresh
 * N ≥ 2 and killed with SIGKILL there; then `pikpak-token-broker daemon` again until the account
 * settles. Expected:
 * - with a stored password, the account is healthy again without user action, every time;
 * - without one, a token can be lost only where PikPak has rotated it and the keychain does not
 *   hold the new one (in flight, after the answer, during the keychain write): the broker then
 *   says `reauth-required` / `rotated-during-crash`, and another restart spends no call on it;
 * - the emulator's lineage never shows a refresh token presented twice.
 * Figures: test-results/reliability/crash-safety.json and a table on stdout.
 *
 * Trials run in parallel lanes, each with its own emulator (faults are emulator-wide) and its own
 * private gnome-keyring (the keychain-writing step SIGSTOPs it).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BrokerClient } from '../../main/cli/broker-client.js';
import type { AccountRecord, BrokerSettings } from '../../main/core/ports.js';
import type { RuntimeConfig } from '../../main/runtime/config.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import type { RefreshTokenLineageEntry } from '../emulator/types.js';
import { childEnv, collect, runCli, spawnCli, waitFor, type CliResult } from '../support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';
import { ARM_MARKER, CRASH_STEPS, MARKER, PERTURBED_MARKER, type CrashStep } from './crash-points.js';
import { writeReport } from './report.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRASH_DAEMON = join(REPO_ROOT, 'e2e', 'reliability', 'crash-daemon.ts');

/** 5 steps × {password, none} × 5 = 50 trials. */
const TRIALS_PER_CELL = 5;
const LANES = 3;
const ACCOUNT = 'main';
/** How long after the keychain-writing marker the kill lands (the write is stuck on a stopped keyring). */
const KEYCHAIN_KILL_DELAY_MS = 300;
/** A trial whose keychain failed before its step is run again, at most this often. */
const MAX_RERUNS = 2;
/** Steps where PikPak may have rotated the token and the keychain may not hold the new one. */
const LOSS_WINDOWS: ReadonlySet<CrashStep> = new Set(['in-flight', 'after-answer', 'keychain-writing']);

type Outcome = 'resumed' | 'signed-in-with-password' | 'reauth-required';

interface TrialSpec {
  readonly index: number;
  readonly step: CrashStep;
  readonly password: boolean;
  /** The refresh (1 = the one at start-up) killed. */
  readonly refresh: number;
}

interface TrialResult extends TrialSpec {
  readonly outcome: Outcome;
  /** The newest refresh token PikPak had issued at the kill was never used again: a sign-in was needed. */
  readonly lost: boolean;
  readonly reauthReason?: string | undefined;
  readonly ms: number;
}

interface TrialFailure extends TrialSpec {
  readonly error: string;
}

/** The keychain failed before the crash step (a slow Secret Service on a loaded machine). */
class PerturbedTrial extends Error {}

interface StatusAccount {
  name: string;
  state: string;
  health: string;
  description: string;
  state_detail: { type: string; reason?: string; message?: string };
}

const keyringProbe = await startPrivateKeyring();
const skip = 'skipped' in keyringProbe ? `no private keychain: ${keyringProbe.skipped}` : false;

describe('crash safety: kill -9 at every step of a refresh', { skip }, () => {
  const keyrings: PrivateKeyring[] = [keyringProbe as PrivateKeyring];
  const lanes: Lane[] = [];

  before(async () => {
    while (keyrings.length < LANES) {
      const more = await startPrivateKeyring();
      if ('skipped' in more) throw new Error(`another private keyring did not start: ${more.skipped}`);
      keyrings.push(more);
    }
    for (const keyring of keyrings)
      lanes.push({ keyring, emulator: await startEmulator({ accessTtlSeconds: 1 }) });
  });

  after(async () => {
    for (const lane of lanes) await lane.emulator.close();
    for (const keyring of keyrings) await keyring.stop();
  });

  it(
    `${CRASH_STEPS.length} steps × {stored password, none} × ${TRIALS_PER_CELL}: never a token sent twice, loss only where PikPak already rotated`,
    { timeout: 600_000 },
    async () => {
      const specs: TrialSpec[] = [];
      for (let round = 0; round < TRIALS_PER_CELL; round++)
        for (const step of CRASH_STEPS)
          for (const password of [true, false])
            specs.push({ index: specs.length, step, password, refresh: 2 + (specs.length % 2) });

      const started = Date.now();
      const cpuBefore = process.cpuUsage();
      const results: TrialResult[] = [];
      const failures: TrialFailure[] = [];
      const perturbed: TrialFailure[] = [];
      const queue = [...specs];
      await Promise.all(
        lanes.map(async (lane) => {
          for (let spec = queue.shift(); spec; spec = queue.shift()) {
            try {
              results.push(await runTrial(lane, spec));
            } catch (error) {
              const failure = { ...spec, error: (error as Error).stack ?? String(error) };
              if (!(error instanceof PerturbedTrial)) failures.push(failure);
              else if (perturbed.filter((p) => p.index === spec.index).length >= MAX_RERUNS)
                failures.push(failure);
              else {
                perturbed.push({ ...failure, error: error.message });
                queue.push(spec);
              }
            }
          }
        }),
      );
      const durationMs = Date.now() - started;
      const cpu = process.cpuUsage(cpuBefore);

      const table = lossTable(results);
      const lineage = lanes.flatMap((lane) =>
        Object.values(lane.emulator.stats().accounts).flatMap((a) => a.refreshTokenLineage),
      );
      const report = await writeReport('crash-safety', {
        trials: specs.length,
        completed: results.length,
        lanes: LANES,
        durationMs,
        /** This process (emulators, polling) only; the CLI and daemon processes are most of it. */
        testProcessCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        table,
        emulator: {
          refreshTokens: lineage.length,
          maxPresentations: Math.max(0, ...lineage.map((e) => e.presentations)),
          reuseAttempts: sumOver(lanes, (s) =>
            Object.values(s.accounts).reduce((n, a) => n + a.reuseAttempts, 0),
          ),
          invalidGrants: sumOver(lanes, (s) => s.invalidGrants),
          signins: sumOver(lanes, (s) => s.signins),
          refreshes: sumOver(lanes, (s) => s.refreshes),
        },
        results,
        failures,
        perturbed,
      });
      console.log(renderTable(table, durationMs, report));
      if (perturbed.length)
        console.log(`${perturbed.length} trial(s) run again after a keychain failure before the step`);

      assert.deepEqual(
        failures.map(
          (f) => `trial ${f.index} (${f.step}, ${f.password ? 'password' : 'no password'}): ${f.error}`,
        ),
        [],
      );
      assert.equal(results.length, specs.length);
      assert.ok(results.length >= 50, 'at least 50 trials');
      for (const r of results) {
        if (r.password)
          assert.notEqual(r.outcome, 'reauth-required', `trial ${r.index} (${r.step}) needed the user`);
        else if (!LOSS_WINDOWS.has(r.step))
          assert.equal(r.lost, false, `trial ${r.index} lost the token at ${r.step}`);
      }
      // PikPak rotated and nothing was saved: these must be known losses, never a resend.
      for (const r of results.filter((r) => r.step === 'after-answer' || r.step === 'in-flight'))
        assert.equal(
          r.lost,
          true,
          `trial ${r.index} (${r.step}) cannot have kept a token PikPak never delivered`,
        );
      assert.ok(
        lineage.every((e) => e.presentations <= 1),
        'no refresh token presented twice',
      );
    },
  );
});

// ── one trial ────────────────────────────────────────────────────────────────────────────────

interface Lane {
  readonly keyring: PrivateKeyring;
  readonly emulator: Emulator;
}

async function runTrial(lane: Lane, spec: TrialSpec): Promise<TrialResult> {
  const started = Date.now();
  const { emulator, keyring } = lane;
  const username = `crash-${spec.index}-${randomBytes(3).toString('hex')}@example.com`;
  const password = randomBytes(12).toString('base64url');
  emulator.addAccount({ username, password });
  const dataDir = await mkdtemp(join(tmpdir(), 'pkb-crash-'));
  const config: RuntimeConfig = {
    dataDir,
    socketPath: join(dataDir, 'broker.sock'),
    keychainService: `pkb-crash-${process.pid}-${spec.index}`,
    upstream: {},
  };
  const common = [
    '--data-dir',
    dataDir,
    '--socket',
    config.socketPath,
    '--keychain-service',
    config.keychainService,
    '--auth-base-url',
    emulator.url,
    '--drive-base-url',
    emulator.url,
  ];
  const env = { ...keyring.env };
  const lineage = (): RefreshTokenLineageEntry[] => emulator.stats().accounts[username]!.refreshTokenLineage;
  const invalidGrantsBefore = emulator.stats().invalidGrants;
  let crashLog: string | undefined;
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
    if (login.code === 7) throw new PerturbedTrial(`login: keychain unavailable: ${login.stderr.trim()}`);
    assert.equal(login.code, 0, `login: ${login.stderr}`);

    // ── crash ──
    crashLog = await crashAt(
      lane,
      spec,
      common,
      env,
      () => lineage().filter((e) => e.usedAt !== undefined).length >= spec.refresh,
    );
    const atCrash = lineage();
    const record = await readRecord(dataDir);
    const used = atCrash.filter((e) => e.usedAt !== undefined);
    const unused = atCrash.filter((e) => e.usedAt === undefined);
    assert.equal(unused.length, 1, 'exactly one live refresh token at the kill');
    const newest = unused[0]!;
    if (spec.step === 'before-upstream') {
      assert.equal(record.refreshIntent, undefined, 'no intent was written');
      assert.equal(used.length, spec.refresh - 1, `refresh ${spec.refresh} was never sent`);
    } else {
      const intent = record.refreshIntent;
      assert.ok(intent, `an intent survived the kill at ${spec.step}`);
      assert.equal(used.length, spec.refresh, `PikPak rotated refresh ${spec.refresh}`);
      const spent = atCrash.find((e) => e.id === intent.tokenFingerprint);
      assert.ok(spent?.usedAt !== undefined, 'the intent names the token PikPak just rotated');
      assert.equal(newest.parent, spent.id, 'the live token is the answer to that refresh');
    }
    const tokenCallsAtCrash = emulator.stats().requests.token ?? 0;
    const signInsAtCrash = atCrash.filter((e) => e.issuedBy === 'signin').length;

    // ── restart with the real CLI ──
    const refreshedBefore = atCrash.filter((e) => e.issuedBy === 'refresh').length;
    // Reauth: settled once the record naming the dead token is in settings.json (what spares the
    // next start a call), so the stop below also never meets that write in flight.
    const suspect = record.refreshIntent?.tokenFingerprint;
    const reauthRecorded = async (): Promise<boolean> => {
      const now = await readRecord(dataDir);
      return (
        now.refreshIntent === undefined &&
        now.reauth?.reason === 'rotated-during-crash' &&
        now.reauth.deadTokenFingerprint === suspect
      );
    };
    const first = await runDaemon(config, common, env, async (account) => {
      if (account.state === 'reauth-required') return reauthRecorded();
      const refreshed = lineage().filter((e) => e.issuedBy === 'refresh').length;
      return account.state === 'healthy' && refreshed > refreshedBefore;
    });
    const settled = first.account;
    let outcome: Outcome;
    if (settled.state === 'reauth-required') {
      outcome = 'reauth-required';
      assert.equal(settled.state_detail.reason, 'rotated-during-crash', settled.description);
      assert.match(settled.state_detail.message ?? '', /sign in again/i);
      assert.equal(
        emulator.stats().requests.token ?? 0,
        tokenCallsAtCrash,
        'the crash-suspect token was not sent (no upstream call at all)',
      );
      assertLogSaysReauth(first.result);
      assert.match(first.result.stderr, /not sent again/, 'the log says why the token is not sent');

      // ── and once more: no loop on the dead token ──
      const presentationsBefore = sum(lineage().map((e) => e.presentations));
      const signInsBefore = lineage().filter((e) => e.issuedBy === 'signin').length;
      const second = await runDaemon(
        config,
        common,
        env,
        (account) => account.state === 'reauth-required',
        500,
      );
      assert.equal(second.account.state_detail.reason, 'rotated-during-crash');
      assert.equal(emulator.stats().requests.token ?? 0, tokenCallsAtCrash, 'no refresh call on restart');
      assert.equal(sum(lineage().map((e) => e.presentations)), presentationsBefore);
      assert.equal(lineage().filter((e) => e.issuedBy === 'signin').length, signInsBefore);
      assertLogSaysReauth(second.result);
    } else {
      const signedIn = lineage().filter((e) => e.issuedBy === 'signin').length > signInsAtCrash;
      outcome = signedIn ? 'signed-in-with-password' : 'resumed';
    }
    const final = lineage();
    const newestAfter = final.find((e) => e.id === newest.id)!;
    const lost = newestAfter.usedAt === undefined;
    assert.equal(lost, outcome !== 'resumed', 'resumed exactly when the newest token was used');
    if (outcome === 'signed-in-with-password') assert.ok(spec.password);

    // ── the emulator's word: no refresh token presented twice ──
    const stats = emulator.stats();
    assert.deepEqual(
      final.filter((e) => e.presentations > 1).map((e) => `${e.id}×${e.presentations}`),
      [],
      'no refresh token presented twice',
    );
    assert.equal(stats.accounts[username]!.reuseAttempts, 0);
    assert.equal(stats.invalidGrants, invalidGrantsBefore, 'no invalid_grant');
    return {
      ...spec,
      outcome,
      lost,
      reauthReason: settled.state_detail.reason,
      ms: Date.now() - started,
    };
  } catch (error) {
    if (error instanceof PerturbedTrial || crashLog === undefined) throw error;
    throw new Error(`${(error as Error).stack}\nthe crash daemon's log: ${crashLog.slice(-3000)}`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Runs crash-daemon.ts until it reports the step on refresh `spec.refresh`, prepares the armed
 * steps, and kills it with SIGKILL there.
 */
async function crashAt(
  lane: Lane,
  spec: TrialSpec,
  common: string[],
  env: Record<string, string>,
  refreshAnswered: () => boolean,
): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CRASH_DAEMON,
      '--crash-at',
      spec.step,
      '--crash-on-refresh',
      String(spec.refresh),
      '--log-format',
      'json',
      ...common,
    ],
    { cwd: REPO_ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_c, s) => resolve(s)));
  let stoppedKeyring: number | undefined;
  try {
    const lines = createInterface({ input: child.stdout });
    const marker = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        void (async () => {
          if (line === `${ARM_MARKER} ${spec.step}`) {
            if (spec.step === 'in-flight')
              // PikPak rotates the token and then sits on its answer until the kill.
              lane.emulator.setFault({
                endpoint: 'token',
                kind: 'delay',
                ms: 60_000,
                timing: 'after',
                count: 1,
              });
            if (spec.step === 'keychain-writing') {
              stoppedKeyring = await lane.keyring.secretServicePid();
              assert.ok(stoppedKeyring, 'the private gnome-keyring runs');
              process.kill(stoppedKeyring, 'SIGSTOP');
            }
            child.stdin.write('go\n');
          } else if (line === `${MARKER} ${spec.step}`) {
            resolve();
          } else if (line.startsWith(`${PERTURBED_MARKER} `)) {
            reject(new PerturbedTrial(line.slice(PERTURBED_MARKER.length + 1)));
          }
        })().catch(reject);
      });
      void exited.then(() => reject(new Error(`the crash daemon exited before ${spec.step}`)));
    });
    marker.catch(() => undefined); // settled late when the timeout won
    await withTimeout(marker, 60_000, `the crash daemon to reach ${spec.step}`).catch((error: Error) => {
      if (error instanceof PerturbedTrial) throw error;
      throw new Error(`${error.message}; its log: ${stderr.slice(-3000)}`);
    });
    if (spec.step === 'in-flight')
      await waitFor(refreshAnswered, 'PikPak to rotate the token in flight', 30_000);
    if (spec.step === 'keychain-writing') await sleep(KEYCHAIN_KILL_DELAY_MS);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    return stderr;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (stoppedKeyring) process.kill(stoppedKeyring, 'SIGCONT');
    lane.emulator.clearFaults();
  }
}

/**
 * `pikpak-token-broker daemon` until `settled` holds for the account (read over the socket with
 * the admin credential, like `status --json`), then `lingerMs` more, then SIGTERM (exit 0).
 */
async function runDaemon(
  config: RuntimeConfig,
  common: string[],
  env: Record<string, string>,
  settled: (account: StatusAccount) => boolean | Promise<boolean>,
  lingerMs = 0,
): Promise<{ account: StatusAccount; result: CliResult }> {
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
        if (found && (await settled(found))) account = found;
        return account !== undefined;
      },
      'the restarted daemon to settle',
      60_000,
    );
    if (lingerMs) {
      await sleep(lingerMs);
      account = (await liveAccount(config)) ?? account;
    }
  } catch (error) {
    daemon.kill('SIGKILL');
    const result = await done;
    throw new Error(
      `${(error as Error).message}; last state ${JSON.stringify(lastSeen)}; daemon log: ${result.stderr.slice(-3000)}`,
    );
  }
  daemon.kill('SIGTERM');
  const result = await done;
  // A clean stop, even when the SIGTERM meets a settings write in flight (daemon.ts keeps its
  // listener until stopped, so write-file-atomic's signal-exit never re-raises the signal).
  assert.equal(
    result.code,
    0,
    `the daemon stops on SIGTERM (exit ${result.code}, signal ${result.signal}): ${result.stderr.slice(-2000)}`,
  );
  return { account: account!, result };
}

async function liveAccount(config: RuntimeConfig): Promise<StatusAccount | undefined> {
  const client = await BrokerClient.connect(config);
  if (!client) return undefined;
  const status = await client.call<{ accounts: StatusAccount[] }>('GET', '/v1/status');
  return status.accounts.find((a) => a.name === ACCOUNT);
}

/** The daemon's log says which account needs what, why, and the command to run. */
function assertLogSaysReauth(result: CliResult): void {
  const lines = result.stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: number; msg?: string; reason?: string; account?: string };
      } catch {
        return {};
      }
    });
  const warning = lines.find((l) => l.reason === 'rotated-during-crash' && (l.level ?? 0) >= 40);
  assert.ok(warning, `a warning names the reason: ${result.stderr.slice(-2000)}`);
  assert.equal(warning.account, ACCOUNT);
  assert.match(warning.msg ?? '', /needs a new sign-in/);
  assert.match(warning.msg ?? '', /pikpak-token-broker login --account main/);
}

async function readRecord(dataDir: string): Promise<AccountRecord> {
  const settings = JSON.parse(await readFile(join(dataDir, 'settings.json'), 'utf8')) as BrokerSettings;
  const record = settings.accounts.find((a) => a.name === ACCOUNT);
  assert.ok(record, 'the account is in settings.json');
  return record;
}

// ── figures ──────────────────────────────────────────────────────────────────────────────────

interface TableRow {
  step: CrashStep;
  password: 'stored' | 'none';
  trials: number;
  lost: number;
  lossRate: number;
  resumed: number;
  signedInWithPassword: number;
  reauthRequired: number;
}

function lossTable(results: readonly TrialResult[]): TableRow[] {
  return CRASH_STEPS.flatMap((step) =>
    [true, false].map((password) => {
      const cell = results.filter((r) => r.step === step && r.password === password);
      const lost = cell.filter((r) => r.lost).length;
      return {
        step,
        password: password ? ('stored' as const) : ('none' as const),
        trials: cell.length,
        lost,
        lossRate: cell.length ? lost / cell.length : 0,
        resumed: cell.filter((r) => r.outcome === 'resumed').length,
        signedInWithPassword: cell.filter((r) => r.outcome === 'signed-in-with-password').length,
        reauthRequired: cell.filter((r) => r.outcome === 'reauth-required').length,
      };
    }),
  );
}

function renderTable(rows: readonly TableRow[], durationMs: number, file: string): string {
  const header = ['step', 'password', 'trials', 'lost', 'loss', 'resumed', 'auto sign-in', 'reauth'];
  const body = rows.map((r) => [
    r.step,
    r.password,
    String(r.trials),
    String(r.lost),
    `${Math.round(r.lossRate * 100)}%`,
    String(r.resumed),
    String(r.signedInWithPassword),
    String(r.reauthRequired),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [
    `crash safety: ${sum(rows.map((r) => r.trials))} trials in ${(durationMs / 1000).toFixed(1)} s (${file})`,
    line(header),
    ...body.map(line),
  ].join('\n');
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sumOver(lanes: readonly Lane[], pick: (stats: ReturnType<Emulator['stats']>) => number): number {
  return sum(lanes.map((lane) => pick(lane.emulator.stats())));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
