/**
 * Footprint rows of `npm run bench`: what the compiled broker costs next to Node itself, measured
 * in the same run on the same machine.
 *
 * - cold start: spawning `node bin/pikpak-token-broker.js daemon` (the compiled build) until its socket serves `GET /v1/health`,
 *   against spawning a bare node:http server until its socket serves a request (median of rounds,
 *   alternating);
 * - idle RSS: that daemon (shipped defaults, one signed-in account against the PikPak emulator, a
 *   private gnome-keyring) after `idleMs` of idling, against the bare server idling as long
 *   beside it;
 * - CLI latency: `pikpak-token-broker token` and `status` against the running daemon (spawn to
 *   exit), against `node -e 0`.
 *
 * Targets (issue 14): idle RSS ≤ 1.4×, cold start ≤ 3×, token and status ≤ 2.5× their baselines.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startEmulator } from '../e2e/emulator/server.js';
import { startPrivateKeyring } from '../e2e/support/keyring-session.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Started the way the installed command starts it: the bin runs the compiled dist/main/cli.js.
const CLI = join(ROOT, 'bin', 'pikpak-token-broker.js');
const COMPILED = join(ROOT, 'dist', 'main', 'cli.js');
const USER = 'footprint@example.com';
const PASSWORD = 'footprint-password';

export const FOOTPRINT_TARGETS = { idleRss: 1.4, coldStart: 3, cli: 2.5 } as const;

export interface Comparison {
  readonly broker: number;
  readonly baseline: number;
  /** broker / baseline */
  readonly ratio: number;
}

export interface FootprintResult {
  readonly skipped?: string;
  readonly idleMs: number;
  readonly rounds: number;
  /** MB */
  readonly idleRss?: Comparison;
  /** ms, spawn to a served request */
  readonly coldStart?: Comparison;
  /** ms, spawn to exit; baseline `node -e 0` */
  readonly token?: Comparison;
  readonly status?: Comparison;
  readonly targets: Record<string, boolean>;
}

export interface FootprintOptions {
  /** How long both servers idle before their RSS is read (default 60 s). */
  idleMs?: number;
  /** Rounds per timing (median; default 5). */
  rounds?: number;
  /** The CLI entry to measure (default bin/pikpak-token-broker.js on dist/, built first); e.g. an esbuild bundle to compare. */
  cli?: string;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const compare = (broker: number, baseline: number): Comparison => ({
  broker,
  baseline,
  ratio: broker / baseline,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One GET over a Unix socket; resolves the status code, rejects when nothing answers. */
function get(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path, headers: { host: 'localhost' }, agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end();
  });
}

/** Spawns `args` and resolves the ms until `socketPath` serves `path` with 200 (polling every 2 ms). */
async function spawnUntilServed(
  args: string[],
  env: NodeJS.ProcessEnv,
  socketPath: string,
  path: string,
): Promise<{ child: ChildProcess; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${args.join(' ')} exited early: ${stderr.slice(-2000)}`);
    if (performance.now() - started > 60_000) throw new Error(`${args.join(' ')}: not serving after 60 s`);
    if ((await get(socketPath, path).catch(() => 0)) === 200)
      return { child, ms: performance.now() - started };
    await sleep(2);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size in MB (Linux /proc; elsewhere `ps`). */
async function rssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
    if (kb) return kb / 1024;
  } catch {
    // not Linux
  }
  const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Number(stdout.trim()) / 1024;
}

/** Wall time of one process from spawn to exit; throws on a non-zero exit. */
async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await run(process.execPath, args, { env, maxBuffer: 1 << 20 });
  return performance.now() - started;
}

/** A bare node:http server on a Unix socket: the baseline for start-up and idle memory. */
const bareServer = (socketPath: string): string[] => [
  '-e',
  `require('node:http').createServer((q, s) => s.end('{"ok":true}')).listen(${JSON.stringify(socketPath)})`,
];

export async function benchFootprint(options: FootprintOptions = {}): Promise<FootprintResult> {
  const idleMs = options.idleMs ?? 60_000;
  const rounds = options.rounds ?? 5;
  const cli = options.cli ?? CLI;
  const keyring = await startPrivateKeyring();
  if ('skipped' in keyring)
    return { skipped: `no private keychain: ${keyring.skipped}`, idleMs, rounds, targets: {} };
  // What is measured is what ships: the compiled build.
  if (!options.cli)
    await run(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
    ]);
  if (!existsSync(options.cli ? cli : COMPILED))
    throw new Error(`${options.cli ? cli : COMPILED} was not built`);
  const emulator = await startEmulator({
    accessTtlSeconds: 7200,
    accounts: [{ username: USER, password: PASSWORD }],
  });
  const dir = await mkdtemp(join(tmpdir(), 'pkb-footprint-'));
  const children: ChildProcess[] = [];
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...keyring.env };
    for (const name of ['DISPLAY', 'WAYLAND_DISPLAY']) delete env[name];
    const socket = join(dir, 'run', 'broker.sock');
    const common = [
      '--data-dir',
      join(dir, 'data'),
      '--socket',
      socket,
      '--keychain-service',
      `pkb-footprint-${process.pid}`,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
    await new Promise<void>((resolve, reject) => {
      const login = spawn(
        process.execPath,
        [cli, 'login', '--account', 'main', '--username', USER, '--password-stdin', ...common],
        {
          env,
          stdio: ['pipe', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      login.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      login.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`login failed (${code}): ${stderr}`)),
      );
      login.stdin!.end(PASSWORD);
    });

    // Cold start, alternating; the last daemon and bare server stay up for the idle and CLI rows.
    const brokerStarts: number[] = [];
    const bareStarts: number[] = [];
    let daemon: ChildProcess | undefined;
    let bare: ChildProcess | undefined;
    for (let round = 0; round < rounds; round++) {
      const last = round === rounds - 1;
      const bareSocket = join(dir, `bare-${round}.sock`);
      const b = await spawnUntilServed(bareServer(bareSocket), env, bareSocket, '/');
      bareStarts.push(b.ms);
      const d = await spawnUntilServed([cli, 'daemon', ...common], env, socket, '/v1/health');
      brokerStarts.push(d.ms);
      children.push(b.child, d.child);
      if (last) [bare, daemon] = [b.child, d.child];
      else await Promise.all([stop(b.child), stop(d.child)]);
    }

    // CLI latency against the running daemon, alternating with `node -e 0`.
    const nodeTimes: number[] = [];
    const tokenTimes: number[] = [];
    const statusTimes: number[] = [];
    for (let round = 0; round < rounds; round++) {
      nodeTimes.push(await timed(['-e', '0'], env));
      tokenTimes.push(await timed([cli, 'token', '--account', 'main', ...common], env));
      statusTimes.push(await timed([cli, 'status', ...common], env));
    }
    const nodeMs = median(nodeTimes);

    // Idle: both have served; now both sit idle as long, side by side.
    await sleep(idleMs);
    const [brokerRss, bareRss] = await Promise.all([rssMb(daemon!.pid!), rssMb(bare!.pid!)]);

    const result = {
      idleMs,
      rounds,
      idleRss: compare(brokerRss, bareRss),
      coldStart: compare(median(brokerStarts), median(bareStarts)),
      token: compare(median(tokenTimes), nodeMs),
      status: compare(median(statusTimes), nodeMs),
    };
    return {
      ...result,
      targets: {
        [`idle RSS <= ${FOOTPRINT_TARGETS.idleRss}x a bare node:http server`]:
          result.idleRss.ratio <= FOOTPRINT_TARGETS.idleRss,
        [`cold start to /v1/health <= ${FOOTPRINT_TARGETS.coldStart}x a bare server's`]:
          result.coldStart.ratio <= FOOTPRINT_TARGETS.coldStart,
        [`token <= ${FOOTPRINT_TARGETS.cli}x node -e 0`]: result.token.ratio <= FOOTPRINT_TARGETS.cli,
        [`status <= ${FOOTPRINT_TARGETS.cli}x node -e 0`]: result.status.ratio <= FOOTPRINT_TARGETS.cli,
      },
    };
  } finally {
    await Promise.all(children.map(stop));
    await emulator.close();
    await keyring.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The table rows (printed by bench/run.ts). */
export function footprintLines(result: FootprintResult): string[] {
  if (result.skipped) return [`Footprint: skipped (${result.skipped})`];
  const row = (name: string, c: Comparison | undefined, unit: string, baseline: string) =>
    c
      ? `${name.padEnd(26)} | ${c.broker.toFixed(1).padStart(8)} ${unit.padEnd(2)} | ${c.baseline.toFixed(1).padStart(8)} ${unit.padEnd(2)} ${baseline.padEnd(22)} | ${c.ratio.toFixed(2)}`
      : `${name}: not measured`;
  return [
    `Footprint of the compiled broker (shipped defaults, one account, private gnome-keyring); median of ${result.rounds} rounds`,
    'what                       |   broker    |   baseline                          | ratio',
    '---------------------------|-------------|-------------------------------------|------',
    row(`idle RSS after ${Math.round(result.idleMs / 1000)} s`, result.idleRss, 'MB', '(bare node:http)'),
    row('cold start to /v1/health', result.coldStart, 'ms', '(bare node:http listen)'),
    row('`token` against daemon', result.token, 'ms', '(node -e 0)'),
    row('`status` against daemon', result.status, 'ms', '(node -e 0)'),
  ];
}

// `tsx bench/footprint.ts [--idle-ms N] [--cli path/to/entry.js]`: the footprint rows alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const idleArg = process.argv.indexOf('--idle-ms');
  const result = await benchFootprint({
    idleMs: idleArg > 0 ? Number(process.argv[idleArg + 1]) : undefined,
  });
  console.log(footprintLines(result).join('\n'));
  console.log(JSON.stringify(result, null, 2));
}
