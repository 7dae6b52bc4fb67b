/**
 * The soak (issue 8): the real daemon, through the CLI, under a steady mixed load against the PikPak
 * emulator at access-token TTL 1 s with random upstream faults, for N minutes; then a report.
 *
 *   const report = await runSoak({ durationMs: 60_000, seed: 1, consumers: 10 });
 *
 * What runs:
 * - the emulator in this process (HTTP for the broker, HTTPS for the bridge's upstream), TTL 1 s;
 * - a private gnome-keyring in a private D-Bus session (never the user's keychain);
 * - `pikpak-token-broker login`, then `pikpak-token-broker bridge` (the daemon with the AList
 *   bridge) as a child process, `clients add` for every consumer and `bridge ca`, all through the CLI;
 * - consumers (consumers.ts, go-consumers.ts): socket API, PikPak-compatible endpoint, and the
 *   AList bridge (the Go AList client where Go is installed, else Node), each using every token on
 *   the emulator's drive API to prove it valid;
 * - random faults on the emulator's /v1/auth/token only (never on the drive calls that validate);
 * - the baseline (baseline.ts): two naive holders of another account of the same emulator.
 * Nothing here calls the real PikPak: every host a client names is the emulator, the bridge, or a
 * `.invalid` name the bridge maps to a local observer.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEmulatorCertificate } from '../emulator/cert.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import type { EmulatorStats, RefreshTokenLineageEntry } from '../emulator/types.js';
import { runCli } from '../support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';
import { NaiveHolders } from './baseline.js';
import { NodeConsumer, type NodeVariant } from './consumers.js';
import { DaemonProcess } from './daemon-process.js';
import { buildGoClient } from '../alist-go/build.js';
import { DriveObserver, GoConsumer, goVersion, type GoVariant } from './go-consumers.js';
import { httpCall, keepAliveAgent } from './http-client.js';
import { childSeed, seededBytes, seededRandom } from './random.js';
import type { ConsumerKind, ConsumerResult, FaultMixEntry, SoakReport } from './types.js';

export const ACCESS_TTL_SECONDS = 1;
/** The daemon's PikPak client timeout (main/pikpak/client.ts DEFAULT_TIMEOUT_MS). */
export const UPSTREAM_TIMEOUT_MS = 15_000;
/**
 * The longest the broker itself may go without a valid access token: one upstream timeout (15 s)
 * plus the keeper's backoff after four failures in a row (DEFAULT_BACKOFF: 1 + 2 + 4 + 8 s at most),
 * plus 10 s for a loaded machine. With the default fault mix (≈ 10 % of token calls fail, 0.5 %
 * time out) a longer outage needs two timeouts or five failures in a row in one episode.
 */
export const OUTAGE_BOUND_MS = UPSTREAM_TIMEOUT_MS + 15_000 + 10_000;
/**
 * A consumer may wait longer than the broker's own outage by its pacing (≤ 300 ms), one round
 * trip and a slow machine's hiccups: 3 s.
 */
export const DELIVERY_SLACK_MS = 3_000;
export const RSS_PEAK_BOUND_MB = 400;
/** Median RSS of the load's last third over its first third. */
export const RSS_GROWTH_BOUND = 1.5;

/**
 * The default upstream weather on /v1/auth/token, all `before` (PikPak did nothing: the refresh
 * token is still good). About one token call in ten fails, one in two hundred hangs until the
 * client gives up; one in twenty is slow. Real PikPak is far kinder; this is a storm.
 */
export const DEFAULT_FAULTS: readonly FaultMixEntry[] = [
  { label: '503 (nginx page)', spec: { endpoint: 'token', kind: 'status', status: 503, probability: 0.03 } },
  { label: '500 (nginx page)', spec: { endpoint: 'token', kind: 'status', status: 500, probability: 0.01 } },
  {
    label: 'rate limited (HTTP 429, error 10)',
    spec: { endpoint: 'token', kind: 'rate-limit', probability: 0.02 },
  },
  { label: 'garbage (200, HTML)', spec: { endpoint: 'token', kind: 'garbage', probability: 0.01 } },
  {
    label: 'garbage (200, JSON not PikPak)',
    spec: { endpoint: 'token', kind: 'garbage', shape: 'json', probability: 0.005 },
  },
  { label: 'connection dropped', spec: { endpoint: 'token', kind: 'drop', probability: 0.01 } },
  { label: 'timeout (no answer)', spec: { endpoint: 'token', kind: 'timeout', probability: 0.005 } },
  { label: 'delay 400 ms', spec: { endpoint: 'token', kind: 'delay', ms: 400, probability: 0.05 } },
];

export interface SoakOptions {
  readonly durationMs: number;
  readonly seed: number;
  readonly consumers: number;
  /** `auto`: the Go AList client for bridge consumers when `go` works; `off`: Node bridge consumers. */
  readonly go?: 'auto' | 'off';
  readonly faults?: readonly FaultMixEntry[];
  /** Consumers pause between uses, uniformly in this range (ms). */
  readonly pauseMs?: readonly [number, number];
  readonly rssIntervalMs?: number;
  /** Baseline: how long a locked-out holder waits for its owner to paste a live token. */
  readonly repasteMs?: number;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
  readonly progressEveryMs?: number;
}

export class SoakUnavailableError extends Error {
  override name = 'SoakUnavailableError';
}

const BROKER_ACCOUNT = { username: 'soak-broker@example.com', password: 'soak-broker-password' };
const BASELINE_ACCOUNT = { username: 'soak-baseline@example.com', password: 'soak-baseline-password' };
const ACCOUNT = 'main';
const EMPTY_KINDS = (): Record<ConsumerKind, number> => ({ socket: 0, compat: 0, bridge: 0 });

interface PlannedConsumer {
  readonly name: string;
  readonly kind: ConsumerKind;
  readonly variant: NodeVariant | GoVariant;
}

/** Round-robin over the three kinds; within a kind, its variants in turn. */
export function planConsumers(count: number, bridgeClient: 'go' | 'node'): PlannedConsumer[] {
  const kinds: ConsumerKind[] = ['socket', 'compat', 'bridge'];
  const variants: Record<ConsumerKind, readonly (NodeVariant | GoVariant)[]> = {
    socket: ['socket-each', 'socket-cache'],
    compat: ['compat-json', 'compat-form'],
    bridge: bridgeClient === 'go' ? ['go-http', 'go-oauth2', 'go-http-verify'] : ['bridge-node'],
  };
  const seen = EMPTY_KINDS();
  const names = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const list = variants[kind];
    const variant = list[seen[kind] % list.length]!;
    seen[kind] += 1;
    const n = (names.get(variant) ?? 0) + 1;
    names.set(variant, n);
    return { name: `${variant}-${n}`, kind, variant };
  });
}

interface EmulatorWatch {
  tokenCalls: number;
  injected: Record<string, number>;
  /** Fingerprints of refresh tokens the emulator answered invalid_grant for. */
  rejected: string[];
}

/** Reads the emulator's log lines: token calls, the faults that struck them, invalid_grants. */
function watchEmulator(watch: EmulatorWatch): (line: string) => void {
  const request = /^\S+ \S*\/v1\/auth\/token (no answer|\d+) \d+ms(?: \[fault (\S+) \S+\])?$/;
  return (line) => {
    if (line.startsWith('refresh rejected (')) {
      const fp = / rt=(\S+)/.exec(line)?.[1];
      if (fp) watch.rejected.push(fp);
      return;
    }
    if (!line.includes('/v1/auth/token ')) return;
    const match = request.exec(line);
    if (!match) return;
    watch.tokenCalls += 1;
    const kind = match[2];
    if (kind) {
      const key = kind === 'status' ? `status ${match[1]}` : kind;
      watch.injected[key] = (watch.injected[key] ?? 0) + 1;
    }
  };
}

/** The longest stretch of [start, end] in which no access token issued to the account was valid. */
export function longestUncovered(
  issuedAt: readonly number[],
  ttlMs: number,
  start: number,
  end: number,
): { ms: number; startAt: number } {
  let coveredUntil = start;
  let longest = 0;
  let longestAt = start;
  for (const t of [...issuedAt].sort((a, b) => a - b)) {
    if (t >= end) break;
    if (t + ttlMs <= coveredUntil) continue;
    if (t > coveredUntil && t - coveredUntil > longest) {
      longest = t - coveredUntil;
      longestAt = coveredUntil;
    }
    coveredUntil = Math.max(coveredUntil, t + ttlMs);
  }
  if (coveredUntil < end && end - coveredUntil > longest) {
    longest = end - coveredUntil;
    longestAt = coveredUntil;
  }
  return { ms: longest, startAt: longestAt };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function isOneChain(lineage: readonly RefreshTokenLineageEntry[]): boolean {
  return lineage.every((entry, i) =>
    i === 0
      ? entry.issuedBy === 'signin'
      : entry.issuedBy === 'refresh' && entry.parent === lineage[i - 1]!.id,
  );
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const progress = options.progress ?? (() => undefined);
  const faults = options.faults ?? DEFAULT_FAULTS;
  const pauseMs = options.pauseMs ?? [100, 300];
  const seed = options.seed >>> 0;
  const consumerCount = Math.max(1, Math.floor(options.consumers));

  const steps: Record<string, number> = {};
  let lapAt = started;
  const lap = (): number => {
    const now = Date.now();
    const took = Math.round((now - lapAt) / 100) / 10;
    lapAt = now;
    return took;
  };
  /** How long `promise` took, in seconds, under `name`. */
  const timed = async <T>(name: string, promise: Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const value = await promise;
    steps[name] = Math.round((Date.now() - t0) / 100) / 10;
    return value;
  };

  const keyringResult = await startPrivateKeyring();
  if ('skipped' in keyringResult)
    throw new SoakUnavailableError(
      `the soak needs a private keychain and none could be started: ${keyringResult.skipped}. ` +
        '(The daemon can run without a keychain, but `login` then refuses to run, and the AList bridge ' +
        'keeps its CA key in the keychain; a soak without one would not be the product users run.)',
    );
  const keyring: PrivateKeyring = keyringResult;
  steps.keyring = lap();
  const cleanups: (() => Promise<unknown>)[] = [() => keyring.stop()];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };

  let daemon: DaemonProcess | undefined;
  let goConsumers: GoConsumer[] = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-soak-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const watch: EmulatorWatch = { tokenCalls: 0, injected: {}, rejected: [] };
    const emulator: Emulator = await startEmulator({
      https: true,
      accessTtlSeconds: ACCESS_TTL_SECONDS,
      accounts: [BROKER_ACCOUNT, BASELINE_ACCOUNT],
      random: seededBytes(seededRandom(childSeed(seed, 0))),
      log: watchEmulator(watch),
    });
    cleanups.push(() => emulator.close());
    const emulatorHttpsPort = Number(new URL(emulator.httpsUrl!).port);
    steps.emulator = lap();

    const go = options.go === 'off' ? undefined : await goVersion();
    const goUnavailableReason =
      options.go === 'off' ? 'turned off (--no-go)' : go ? null : '`go` is not installed';
    const bridgeClient: 'go' | 'node' = go ? 'go' : 'node';
    const plan = planConsumers(consumerCount, bridgeClient);
    const goPlan = plan.filter((p) => p.variant.startsWith('go-'));
    progress(
      `soak: ${consumerCount} consumers (${plan.map((p) => p.name).join(', ')}), ` +
        `${Math.round(options.durationMs / 1000)} s of load, seed ${seed}`,
    );

    const caFile = join(dir, 'emulator-ca.pem');
    await writeFile(caFile, emulator.caCertPem!);
    const dataDir = join(dir, 'data');
    const socketPath = join(dir, 'broker.sock');
    const keychainService = `pkb-soak-${randomUUID().slice(0, 8)}`;
    const common = [
      '--data-dir',
      dataDir,
      '--socket',
      socketPath,
      '--keychain-service',
      keychainService,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
      '--upstream-ca',
      caFile,
    ];
    const env = { ...keyring.env };

    // In parallel: the Go build, the sign-in, the observers' certificate.
    const goHosts = goPlan.map((_, i) => `drive-go-${i + 1}.soak.invalid`);
    const baseline = new NaiveHolders({
      emulatorUrl: emulator.url,
      username: BASELINE_ACCOUNT.username,
      password: BASELINE_ACCOUNT.password,
      repasteMs: options.repasteMs ?? 5_000,
      pauseMs: 100,
      timeoutMs: UPSTREAM_TIMEOUT_MS,
    });
    const [binary, login, observerCert] = await Promise.all([
      goPlan.length > 0 ? timed('goBuild', buildGoClient(dir)) : Promise.resolve(undefined),
      timed(
        'login',
        runCli(
          [
            'login',
            '--account',
            ACCOUNT,
            '--username',
            BROKER_ACCOUNT.username,
            '--password-stdin',
            ...common,
          ],
          {
            env,
            input: BROKER_ACCOUNT.password,
          },
        ),
      ),
      goPlan.length > 0
        ? generateEmulatorCertificate({ dnsNames: goHosts, ips: [] })
        : Promise.resolve(undefined),
    ]);
    lap();
    if (login.code !== 0) throw new Error(`login failed (exit ${login.code}):\n${login.stderr}`);

    const observers: DriveObserver[] = [];
    for (let i = 0; i < goPlan.length; i++) {
      const observer = await DriveObserver.start({
        upstream: emulator.url,
        keyPem: observerCert!.keyPem,
        certPem: observerCert!.certChainPem,
      });
      observers.push(observer);
      cleanups.push(() => observer.close());
    }

    const tunnelMap = [
      `api-drive.mypikpak.net:443=127.0.0.1:${emulatorHttpsPort}`,
      ...observers.map((o, i) => `${goHosts[i]}:443=127.0.0.1:${o.port}`),
    ].join(',');
    daemon = await DaemonProcess.start(
      [
        'bridge',
        '--bridge',
        '127.0.0.1:0',
        '--upstream-auth-base-url',
        emulator.httpsUrl!,
        '--tunnel-map',
        tunnelMap,
        '--log-format',
        'json',
        '--log-level',
        'info',
        ...common,
      ],
      env,
    );
    const runningDaemon = daemon;
    steps.daemon = lap();
    cleanups.push(async () => runningDaemon.kill());
    runningDaemon.startSampling(options.rssIntervalMs ?? (options.durationMs > 120_000 ? 5_000 : 2_000));

    // Client secrets, one per consumer: the first through `clients add` (the CLI), the others
    // through the same admin call over the socket (what `clients add` sends), to keep the set-up
    // short on a small machine; the bridge's CA through `bridge ca`.
    const admin = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    const adminAgent = keepAliveAgent();
    const addByApi = async (name: string): Promise<string> => {
      const answer = await httpCall({
        target: { socketPath },
        method: 'POST',
        path: '/v1/admin/clients',
        headers: { authorization: `Bearer ${admin}` },
        json: { name, accounts: [ACCOUNT] },
        agent: adminAgent,
        timeoutMs: 30_000,
      });
      const secret = (answer.json as { secret?: string } | undefined)?.secret;
      if (answer.status !== 201 || !secret)
        throw new Error(`adding client ${name}: ${answer.status} ${answer.text}`);
      return secret;
    };
    const [added, bridgeCa, ...apiSecrets] = await Promise.all([
      runCli(['clients', 'add', plan[0]!.name, '--account', ACCOUNT, ...common], { env }),
      runCli(['bridge', 'ca', ...common], { env }),
      ...plan.slice(1).map((p) => addByApi(p.name)),
    ]);
    adminAgent.destroy();
    const cliSecret = added.stdout.trim();
    if (added.code !== 0 || !/^pkb_[A-Za-z0-9_-]{43}$/.test(cliSecret))
      throw new Error(`clients add ${plan[0]!.name} failed (exit ${added.code}): ${added.stderr}`);
    const secrets = [cliSecret, ...apiSecrets];
    if (bridgeCa.code !== 0 || !bridgeCa.stdout.includes('BEGIN CERTIFICATE'))
      throw new Error(`bridge ca failed (exit ${bridgeCa.code}): ${bridgeCa.stderr}`);
    steps.clients = lap();
    const bundleFile = join(dir, 'bundle.pem');
    await writeFile(bundleFile, bridgeCa.stdout + (observerCert?.caCertPem ?? ''));

    // The broker works before the load starts, and tells us its device id (AList's storages use it).
    const probeAgent = keepAliveAgent();
    const probe = await httpCall({
      target: { socketPath },
      path: `/v1/accounts/${ACCOUNT}/token`,
      headers: { authorization: `Bearer ${secrets[0]!}` },
      agent: probeAgent,
      timeoutMs: 30_000,
    });
    probeAgent.destroy();
    const deviceId = (probe.json as { device_id?: string } | undefined)?.device_id;
    if (probe.status !== 200 || !deviceId)
      throw new Error(`the broker gave no token: ${probe.status} ${probe.text}`);
    progress(`soak: set up in ${Math.round((Date.now() - started) / 1000)} s (${JSON.stringify(steps)})`);

    // ── the load ──────────────────────────────────────────────────────────────────────────────
    const nodeConsumers: NodeConsumer[] = [];
    goConsumers = [];
    let goIndex = 0;
    plan.forEach((p, i) => {
      const secret = secrets[i]!;
      if (p.variant.startsWith('go-')) {
        const k = goIndex++;
        goConsumers.push(
          new GoConsumer({
            name: p.name,
            variant: p.variant as GoVariant,
            binary: binary!,
            account: ACCOUNT,
            username: BROKER_ACCOUNT.username,
            secret,
            deviceId,
            proxyUrl: `http://127.0.0.1:${runningDaemon.bridgePort}`,
            driveHost: goHosts[k]!,
            observer: observers[k]!,
            bundleFile,
            maxDurationS: Math.ceil(options.durationMs / 1000) + 600,
            intervalMs: pauseMs[0],
          }),
        );
      } else {
        nodeConsumers.push(
          new NodeConsumer({
            name: p.name,
            variant: p.variant as NodeVariant,
            account: ACCOUNT,
            secret,
            socketPath,
            driveBaseUrl: emulator.url,
            bridge: {
              port: runningDaemon.bridgePort,
              caPem: bridgeCa.stdout,
              driveHost: 'api-drive.mypikpak.net',
              driveCaPem: emulator.caCertPem!,
            },
            random: seededRandom(childSeed(seed, i + 1)),
            pauseMs,
            requestTimeoutMs: 30_000,
          }),
        );
      }
    });
    cleanups.push(async () => goConsumers.forEach((g) => g.kill()));

    await baseline.prepare(); // both holders start with one fresh sign-in, as the load starts
    const setupDone = Date.now();
    const stop = new AbortController();
    const loadStart = Date.now();
    const runs = [
      ...nodeConsumers.map((c) => c.run(loadStart, stop.signal)),
      baseline.run(loadStart, stop.signal),
    ];
    for (const g of goConsumers) g.start(loadStart);
    // The weather turns once every consumer is up (one valid use each, or 20 s): the consumers,
    // like AList storages, were running before the storm. (A Go client whose Init meets an outage
    // stops, as AList leaves such a storage failed; see GoConsumer.)
    const all = [...nodeConsumers, ...goConsumers];
    const upBy = Date.now() + 20_000;
    while (Date.now() < upBy && all.some((c) => c.validUses === 0))
      await new Promise((resolve) => setTimeout(resolve, 50));
    for (const fault of faults) emulator.setFault(fault.spec);
    const faultsOn = Date.now();
    progress(
      `soak: load started; faults on after ${((faultsOn - loadStart) / 1000).toFixed(1)} s` +
        (all.some((c) => c.validUses === 0)
          ? ` (not up yet: ${all
              .filter((c) => c.validUses === 0)
              .map((c) => c.name)
              .join(', ')})`
          : ''),
    );

    const every = options.progressEveryMs ?? (options.durationMs > 120_000 ? 30_000 : 10_000);
    const ticker = setInterval(() => {
      const stats = emulator.stats();
      const lineage = stats.accounts[BROKER_ACCOUNT.username]?.refreshTokenLineage ?? [];
      const rotations = lineage.filter((e) => e.issuedBy === 'refresh' && e.issuedAt >= loadStart).length;
      const rss = runningDaemon.samples.at(-1);
      progress(
        `  ${Math.round((Date.now() - loadStart) / 1000)} s: ${rotations} rotations, ` +
          `${watch.rejected.length} invalid_grant at the emulator (baseline included), ` +
          `faults ${Object.values(watch.injected).reduce((a, b) => a + b, 0)}, RSS ${rss?.rssMb ?? '?'} MB`,
      );
    }, every);
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    clearInterval(ticker);

    // ── stop, in order: consumers, faults, figures, daemon ──────────────────────────────────
    const loadEnd = Date.now();
    stop.abort();
    await Promise.all([...runs, ...goConsumers.map((g) => g.stop())]);
    emulator.clearFaults();
    await runningDaemon.sample();
    const cpuSeconds = await runningDaemon.cpuSeconds();
    const stats: EmulatorStats = emulator.stats();
    const stopAt = Date.now();
    const exit = await runningDaemon.stop();
    const stopS = Math.round((Date.now() - stopAt) / 100) / 10;
    const logFigures = runningDaemon.logFigures(); // after the exit: its last lines count too

    const consumers: ConsumerResult[] = [
      ...nodeConsumers.map((c) => c.result(loadEnd)),
      ...goConsumers.map((g) => g.result(loadEnd)),
    ].sort((a, b) => plan.findIndex((p) => p.name === a.name) - plan.findIndex((p) => p.name === b.name));

    const brokerStats = stats.accounts[BROKER_ACCOUNT.username]!;
    const lineage = brokerStats.refreshTokenLineage;
    const brokerIds = new Set(lineage.map((e) => e.id));
    const inLoad = (e: RefreshTokenLineageEntry) => e.issuedAt >= loadStart && e.issuedAt <= loadEnd;
    const uncovered = longestUncovered(
      lineage.map((e) => e.issuedAt),
      ACCESS_TTL_SECONDS * 1000,
      loadStart,
      loadEnd,
    );

    const samples = runningDaemon.samples;
    const loadStartT = (loadStart - runningDaemon.startedAt) / 1000;
    const loadSamples = samples.filter((s) => s.t >= loadStartT);
    const third = Math.max(1, Math.floor(loadSamples.length / 3));
    const growth =
      median(loadSamples.slice(-third).map((s) => s.rssMb)) /
      median(loadSamples.slice(0, third).map((s) => s.rssMb));

    const byKind = EMPTY_KINDS();
    const failuresByKind: Record<ConsumerKind, Record<string, number>> = {
      socket: {},
      compat: {},
      bridge: {},
    };
    for (const c of consumers) {
      byKind[c.kind] += c.tokenRequests;
      for (const [key, n] of Object.entries(c.tokenFailures))
        failuresByKind[c.kind][key] = (failuresByKind[c.kind][key] ?? 0) + n;
    }
    const worst = consumers.reduce((a, b) => (b.longestGapMs > a.longestGapMs ? b : a), consumers[0]!);
    const finished = Date.now();

    const report: Omit<SoakReport, 'checks'> = {
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      options: {
        durationS: Math.round(options.durationMs / 1000),
        seed,
        consumers: consumerCount,
        accessTtlSeconds: ACCESS_TTL_SECONDS,
        bridgeClients: bridgeClient,
        goUnavailableReason,
        consumerPauseMs: pauseMs,
        faults,
      },
      environment: {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        go: go ?? null,
        keychain: 'private gnome-keyring (own D-Bus session)',
      },
      timing: {
        setupS: Math.round((setupDone - started) / 100) / 10,
        setupStepsS: steps,
        loadS: Math.round((loadEnd - loadStart) / 100) / 10,
        faultsOnAfterS: Math.round((faultsOn - loadStart) / 100) / 10,
        totalS: Math.round((finished - started) / 100) / 10,
      },
      broker: {
        account: BROKER_ACCOUNT.username,
        rotations: lineage.filter((e) => e.issuedBy === 'refresh' && inLoad(e)).length,
        rotationsTotal: lineage.filter((e) => e.issuedBy === 'refresh').length,
        signInsDuringRun: lineage.filter((e) => e.issuedBy === 'signin').length - 1,
        invalidGrants: watch.rejected.filter((fp) => brokerIds.has(fp)).length,
        invalidGrantLogLines: logFigures.invalidGrantLines,
        reuseAttempts: brokerStats.reuseAttempts,
        tokensPresentedTwice: lineage.filter((e) => e.presentations > 1).length,
        lineageIsOneChain: isOneChain(lineage),
        lineageLength: lineage.length,
        upstreamLongestUncoveredMs: uncovered.ms,
        upstreamLongestUncoveredStartS: Math.round((uncovered.startAt - loadStart) / 100) / 10,
        refreshFailures: logFigures.refreshFailures,
        retryEpisodes: logFigures.retryEpisodes,
        maxRetryAttempt: logFigures.maxRetryAttempt,
      },
      consumers,
      totals: {
        tokenRequests: consumers.reduce((n, c) => n + c.tokenRequests, 0),
        tokenRequestsByKind: byKind,
        tokenFailuresByKind: failuresByKind,
        driveCalls: consumers.reduce((n, c) => n + c.driveCalls, 0),
        validUses: consumers.reduce((n, c) => n + c.validUses, 0),
        staleHandouts: consumers.reduce((n, c) => n + (c.staleHandouts ?? 0), 0),
        longestGapMs: worst.longestGapMs,
        longestGapConsumer: worst.name,
      },
      faults: {
        injected: watch.injected,
        injectedTotal: Object.values(watch.injected).reduce((a, b) => a + b, 0),
        tokenCalls: watch.tokenCalls,
      },
      daemon: {
        pid: runningDaemon.pid,
        rss: {
          startMb: samples[0]?.rssMb ?? Number.NaN,
          peakMb: Math.max(...samples.map((s) => s.rssMb)),
          endMb: samples.at(-1)?.rssMb ?? Number.NaN,
          growth: Math.round(growth * 100) / 100,
          samples: [...samples],
        },
        fds: {
          start: samples[0]?.fds ?? Number.NaN,
          peak: Math.max(...samples.map((s) => s.fds)),
          end: samples.at(-1)?.fds ?? Number.NaN,
        },
        cpuSeconds,
        exitCode: exit.code,
        exitSignal: exit.signal,
        stopS,
        logTail: exit.code === 0 ? [] : runningDaemon.logTail(30).split('\n'),
        logWarnings: logFigures.warnings,
        logErrors: logFigures.errors,
      },
      baseline: baseline.result(stats.accounts[BASELINE_ACCOUNT.username]?.reuseAttempts ?? 0),
    };
    const checks = evaluate(report);
    return { ...report, checks };
  } catch (error) {
    if (daemon && !daemon.exited) {
      const tail = daemon.logTail();
      if (error instanceof Error) error.message += `\n--- daemon log (last lines) ---\n${tail}`;
    }
    throw error;
  } finally {
    await cleanup();
  }
}

/** The soak's verdicts; the test asserts each, the CLI exits non-zero if one fails. */
export function evaluate(report: Omit<SoakReport, 'checks'>): SoakReport['checks'] {
  const b = report.broker;
  const bound = b.upstreamLongestUncoveredMs + DELIVERY_SLACK_MS;
  const starved = report.consumers.filter((c) => c.validUses === 0).map((c) => c.name);
  const slow = report.consumers.filter((c) => c.longestGapMs > bound);
  const driveErrors = report.consumers.reduce(
    (n, c) => n + Object.values(c.driveErrors).reduce((a, v) => a + v, 0),
    0,
  );
  const rss = report.daemon.rss;
  return [
    {
      name: 'no invalid_grant for the broker’s account',
      ok: b.invalidGrants === 0 && b.invalidGrantLogLines === 0,
      detail: `${b.invalidGrants} at the emulator, ${b.invalidGrantLogLines} in the daemon's log`,
    },
    {
      name: 'no refresh token presented twice; one unbroken chain',
      ok:
        b.tokensPresentedTwice === 0 &&
        b.reuseAttempts === 0 &&
        b.lineageIsOneChain &&
        b.signInsDuringRun === 0,
      detail: `${b.tokensPresentedTwice} presented twice, ${b.reuseAttempts} reuse attempts, chain of ${b.lineageLength} ${b.lineageIsOneChain ? 'unbroken' : 'BROKEN'}`,
    },
    {
      name: 'the broker rotated throughout',
      ok: b.rotations >= Math.floor(report.timing.loadS / 4),
      detail: `${b.rotations} rotations in ${report.timing.loadS} s (at TTL 1 s, about 1.3 a second without faults)`,
    },
    {
      name: 'every consumer got valid tokens',
      ok: starved.length === 0,
      detail: starved.length
        ? `no valid use: ${starved.join(', ')}`
        : `${report.consumers.length} of ${report.consumers.length}`,
    },
    {
      name: 'no consumer waited much longer than the broker itself had no token',
      ok: slow.length === 0,
      detail:
        `longest gap ${report.totals.longestGapMs} ms (${report.totals.longestGapConsumer}); bound = broker's ` +
        `longest outage ${b.upstreamLongestUncoveredMs} ms + ${DELIVERY_SLACK_MS} ms` +
        (slow.length ? `; over: ${slow.map((c) => `${c.name} ${c.longestGapMs} ms`).join(', ')}` : ''),
    },
    {
      name: 'the broker’s longest outage is bounded',
      ok: b.upstreamLongestUncoveredMs <= OUTAGE_BOUND_MS,
      detail: `${b.upstreamLongestUncoveredMs} ms ≤ ${OUTAGE_BOUND_MS} ms (one ${UPSTREAM_TIMEOUT_MS / 1000} s upstream timeout + backoff of 4 failures + 10 s)`,
    },
    {
      name: 'no consumer stopped by itself',
      ok: report.consumers.every((c) => c.restarts === 0),
      detail:
        report.consumers
          .filter((c) => c.restarts > 0)
          .map((c) => `${c.name} restarted ${c.restarts}×`)
          .join(', ') || 'none did',
    },
    {
      name: 'drive calls never failed for other reasons',
      ok: driveErrors === 0,
      detail: `${driveErrors} drive errors (the drive API has no faults)`,
    },
    {
      name: 'RSS bounded, no runaway growth',
      ok: rss.peakMb < RSS_PEAK_BOUND_MB && rss.growth < RSS_GROWTH_BOUND,
      detail: `peak ${rss.peakMb} MB < ${RSS_PEAK_BOUND_MB} MB; last third / first third ${rss.growth} < ${RSS_GROWTH_BOUND}`,
    },
    {
      name: 'the daemon stopped cleanly',
      ok: report.daemon.exitCode === 0,
      detail: `exit code ${report.daemon.exitCode}`,
    },
    {
      name: 'the baseline (two naive holders) was locked out',
      ok: report.baseline.invalidGrants > 0,
      detail: `${report.baseline.invalidGrants} invalid_grant, first after ${report.baseline.firstLockoutAfterS ?? '—'} s`,
    },
  ];
}
