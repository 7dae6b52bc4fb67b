/** The soak's report for people: Markdown tables (they paste into the README as they are). */
import type { ConsumerResult, SoakReport } from './types.js';

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).filter(([, n]) => n > 0);
  if (entries.length === 0) return '—';
  return entries
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ×${n}`)
    .join(', ');
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function consumerRow(c: ConsumerResult): string[] {
  return [
    c.name,
    `${c.kind} (${c.client})`,
    String(c.tokenRequests),
    counts(c.tokenFailures),
    String(c.driveCalls),
    String(c.validUses),
    String(c.driveRejected),
    c.staleHandouts === null ? 'n/a' : String(c.staleHandouts),
    s(c.longestGapMs),
    `${c.longestGapStartS.toFixed(1)} s`,
    String(c.restarts),
  ];
}

/** At most `points` samples, evenly spread, always with the first and the last. */
function spread<T>(items: readonly T[], points: number): T[] {
  if (items.length <= points) return [...items];
  const out: T[] = [];
  for (let i = 0; i < points; i++) out.push(items[Math.round((i * (items.length - 1)) / (points - 1))]!);
  return out;
}

export function formatReport(r: SoakReport): string {
  const b = r.broker;
  const perSecond = r.timing.loadS > 0 ? (b.rotations / r.timing.loadS).toFixed(2) : '—';
  const lines: string[] = [];
  lines.push(
    `Soak: ${r.timing.loadS} s of load, ${r.options.consumers} consumers, access-token TTL ${r.options.accessTtlSeconds} s, seed ${r.options.seed}`,
    `(${r.startedAt}; setup ${r.timing.setupS} s, faults on ${r.timing.faultsOnAfterS} s into the load, total ${r.timing.totalS} s; Node ${r.environment.node}, ` +
      `${r.environment.platform}, ${r.environment.cpus} CPUs; ${r.environment.go ?? 'no Go'}; keychain: ${r.environment.keychain})`,
    '',
    table(
      ['broker account', 'figure'],
      [
        ['rotations (refreshes at the emulator, during the load)', `${b.rotations} (${perSecond}/s)`],
        ['invalid_grant', String(b.invalidGrants)],
        [
          'refresh tokens presented twice / reuse attempts',
          `${b.tokensPresentedTwice} / ${b.reuseAttempts} (chain of ${b.lineageLength} tokens, ${b.lineageIsOneChain ? 'unbroken' : 'BROKEN'})`,
        ],
        ['sign-ins after the first', String(b.signInsDuringRun)],
        [
          'refresh failures (daemon log)',
          `${counts(b.refreshFailures)}; ${b.retryEpisodes} episodes, up to attempt ${b.maxRetryAttempt}`,
        ],
        [
          'longest time the account had no valid access token upstream',
          `${s(b.upstreamLongestUncoveredMs)} (from ${b.upstreamLongestUncoveredStartS.toFixed(1)} s)`,
        ],
      ],
    ),
    '',
    table(
      [
        'consumer',
        'kind',
        'token requests',
        'no token',
        'drive calls',
        'valid uses',
        'refused by PikPak',
        'stale hand-outs',
        'longest gap',
        'gap began at',
        'restarts',
      ],
      r.consumers.map(consumerRow),
    ),
    '',
    `Token requests: ${r.totals.tokenRequests} (socket ${r.totals.tokenRequestsByKind.socket}, ` +
      `PikPak-compatible ${r.totals.tokenRequestsByKind.compat}, bridge ${r.totals.tokenRequestsByKind.bridge}); ` +
      `valid uses ${r.totals.validUses} of ${r.totals.driveCalls} drive calls; ` +
      `longest time without a valid token: ${s(r.totals.longestGapMs)} (${r.totals.longestGapConsumer}).`,
    `Failures by kind: socket ${counts(r.totals.tokenFailuresByKind.socket)}; ` +
      `PikPak-compatible ${counts(r.totals.tokenFailuresByKind.compat)}; bridge ${counts(r.totals.tokenFailuresByKind.bridge)}.`,
    `Faults injected on /v1/auth/token (broker and baseline): ${r.faults.injectedTotal} in ${r.faults.tokenCalls} token calls — ${counts(r.faults.injected)}.`,
    `Fault mix: ${r.options.faults.map((f) => `${f.label} p=${f.spec.probability ?? 1}`).join(', ')}.`,
    '',
    `Daemon (pid ${r.daemon.pid}): RSS ${r.daemon.rss.startMb} MB at start, peak ${r.daemon.rss.peakMb} MB, ` +
      `${r.daemon.rss.endMb} MB at the end (last third / first third of the load: ×${r.daemon.rss.growth}); ` +
      `open files ${r.daemon.fds.start} → peak ${r.daemon.fds.peak} → ${r.daemon.fds.end}; ` +
      `CPU ${r.daemon.cpuSeconds.toFixed(1)} s; exit code ${r.daemon.exitCode}` +
      `${r.daemon.exitSignal ? ` (${r.daemon.exitSignal})` : ''} ${r.daemon.stopS} s after SIGTERM.`,
    `RSS over time (s: MB): ${spread(r.daemon.rss.samples, 13)
      .map((x) => `${Math.round(x.t)}: ${x.rssMb}`)
      .join(', ')}.`,
    `Daemon log: warnings ${counts(r.daemon.logWarnings)}; errors ${counts(r.daemon.logErrors)}.`,
    '',
    `Baseline, same run: ${r.baseline.model}. ${r.baseline.account}: ` +
      `${r.baseline.invalidGrants} invalid_grant (emulator: ${r.baseline.emulatorReuseAttempts} reuse attempts), ` +
      `first lock-out after ${r.baseline.firstLockoutAfterS === null ? '— (none)' : `${r.baseline.firstLockoutAfterS} s`}; ` +
      `${r.baseline.refreshes} refreshes, ${r.baseline.repastes} re-pastes, transient ${counts(r.baseline.transientFailures)}.`,
    '',
    ...r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
  );
  if (r.daemon.logTail.length > 0) lines.push('', 'Daemon log, last lines:', ...r.daemon.logTail);
  const notes = r.consumers.filter((c) => c.notes.length > 0);
  if (notes.length > 0) {
    lines.push('', 'Notes:');
    for (const c of notes) lines.push(`  ${c.name}: ${c.notes.join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}
