/**
 * Issue 8, "Hostile input": the real daemon (the CLI in a child process, with `--listen` and
 * `--bridge`, a private keychain, the emulator) gets ≥ 10 000 generated requests over its Unix
 * socket, its loopback TCP port and its AList bridge — malformed HTTP, oversized and partial
 * bodies, random JSON to every body-taking route, random paths and methods, wrong secrets,
 * browser-style requests, bad CONNECT lines, TLS garbage — plus a few slow-loris clients.
 *
 * Asserted: the daemon never exits; every answer is a clean error (hostile-client.ts says
 * exactly what that is) and every case ends within a deadline; browser-style requests are all
 * refused with 403; its RSS stays under a stated bound and settles; nothing reached PikPak; and
 * afterwards a legitimate client still gets a valid token for a healthy account, the client list
 * is unchanged and the daemon's log holds no stack trace and no error line.
 * Figures: test-results/reliability/hostile-input.json.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { httpsThrough } from '../../main/bridge/testing/proxy-client.js';
import { call } from '../../main/service/testing/http-client.js';
import {
  runCase,
  runSlow,
  pool,
  type CaseResult,
  type Endpoints,
  type SlowResult,
} from './hostile-client.js';
import {
  ACCOUNT,
  USERNAME,
  addClient,
  closedPort,
  memoryOf,
  readAdminToken,
  revokeClient,
  startDaemon,
  startSession,
  type RunningDaemon,
  type Session,
} from './hostile-daemon.js';
import { generate, type Category, type GeneratorContext, type HostileCase } from './hostile-generator.js';
import { writeReport } from './report.js';

const SEED = Number(process.env.PKB_HOSTILE_SEED ?? 20261125);
const CONCURRENCY = 24;
/** From a case's last write to its end. The service's header timeout is 10 s; the bridge's too. */
const DEADLINE_MS = 15_000;
/** Slow clients must be cut off by the header timeout (10 s) or the request timeout (30 s). */
const SLOW_BOUND_MS = { headers: 25_000, request: 45_000 } as const;
/**
 * RSS bound, over the RSS measured before the barrage (observed: +33 MiB). The daemon holds at
 * most CONCURRENCY requests at once (≤ 64 KiB body + 16 KiB head each, ~2 MiB) plus TLS state
 * for the intercepted ones, and V8 grows its heap by some tens of MiB under load; keeping the
 * oversized bodies alone (240 × ≥ 64 KiB) or a few KiB per request would go past this.
 */
const RSS_GROWTH_BOUND_MIB = 128;
/** At rest after the barrage: RSS no longer rising (over 1.5 s). */
const RSS_RISING_AT_REST_MIB = 8;

const sessionResult = await startSession('pkb-hostile-input-test');
const skip = 'skipped' in sessionResult ? sessionResult.skipped : false;

describe(
  'hostile input against the real daemon (socket, loopback TCP, AList bridge)',
  { skip, timeout: 300_000 },
  () => {
    const session = sessionResult as Session;
    let daemon: RunningDaemon;
    let endpoints: Endpoints;
    let ctx: GeneratorContext;
    let cases: HostileCase[] = [];
    const results = new Map<number, CaseResult>();
    let slowResults: SlowResult[] = [];
    const samples: { atMs: number; rssKiB: number }[] = [];
    let rssBeforeKiB = 0;
    let rssAfterKiB = 0;
    let hwmKiB = 0;
    let barrageMs = 0;
    let upstreamBefore = 0;
    let upstreamAfter = 0;
    let crashed: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const t0 = performance.now();

    before(async () => {
      const socketDir = join(session.dir, 'sock');
      await mkdir(socketDir, { mode: 0o700 });
      daemon = await startDaemon(session, {
        socketPath: join(socketDir, 'broker.sock'),
        listen: true,
        bridge: true,
        logLevel: 'debug',
      });
      const clientSecret = await addClient(session, daemon.socketPath, 'hostile');
      const revokedSecret = await addClient(session, daemon.socketPath, 'revoked');
      // The bridge's proxy credentials: a client of an account that does not exist (see the generator).
      const proxySecret = await addClient(session, daemon.socketPath, 'hostile-proxy', 'no-such-account');
      await revokeClient(session, daemon.socketPath, 'revoked');
      ctx = {
        account: ACCOUNT,
        username: USERNAME,
        clientSecret,
        revokedSecret,
        proxySecret,
        adminToken: await readAdminToken(session),
        clientNames: ['hostile', 'revoked', 'hostile-proxy'],
        socketPath: daemon.socketPath,
        closedPort: await closedPort(),
        bridgePort: daemon.bridgePort!,
        servicePort: daemon.tcpPort!,
      };
      endpoints = { socketPath: daemon.socketPath, tcpPort: daemon.tcpPort!, bridgePort: daemon.bridgePort! };
    });

    after(async () => {
      crashed ??= daemon?.exited();
      const stopped = daemon ? await daemon.stop() : undefined;
      await session.stop();
      if (results.size === 0) return;
      await writeReport('hostile-input', report(stopped?.code ?? null));
    });

    const legitimateToken = async (target: { socketPath: string } | { host: string; port: number }) => {
      const res = await call(target, `/v1/accounts/${ACCOUNT}/token`, { bearer: ctx.clientSecret });
      assert.equal(res.status, 200, res.text);
      return res.json as { access_token: string; expires_in: number };
    };

    /** AList's way: PikPak's refresh call through the bridge, the client secret as refresh token. */
    const legitimateBridgeToken = async () => {
      const res = await httpsThrough(daemon.bridgePort!, {
        proxySecret: ctx.clientSecret,
        host: 'user.mypikpak.net',
        path: '/v1/auth/token',
        ca: await readFile(join(session.dataDir, 'bridge-ca.pem'), 'utf8'),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: ctx.clientSecret }),
      });
      assert.equal(res.status, 200, res.body.toString());
      return res.json as { access_token: string; expires_in: number };
    };

    it('answers ≥ 10 000 generated requests with clean errors only, and never exits', async () => {
      // Warm up what a real client uses, so that "before" includes it: both listeners, the bridge's TLS.
      await legitimateToken({ socketPath: daemon.socketPath });
      await legitimateToken({ host: '127.0.0.1', port: daemon.tcpPort! });
      await legitimateBridgeToken();
      const generated = generate(SEED, ctx);
      cases = generated.cases;
      assert.ok(cases.length + generated.slow.length >= 10_000, `only ${cases.length} cases`);
      await sleep(1_000);
      rssBeforeKiB = (await memoryOf(daemon.pid)).rssKiB;
      upstreamBefore = upstreamRequests();

      const sampler = setInterval(() => {
        memoryOf(daemon.pid)
          .then((m) => samples.push({ atMs: Math.round(performance.now() - t0), rssKiB: m.rssKiB }))
          .catch(() => undefined);
      }, 250);
      const judge = { secrets: [ctx.clientSecret, ctx.adminToken, ctx.revokedSecret, ctx.proxySecret] };
      const started = performance.now();
      try {
        const slow = Promise.all(
          generated.slow.map((s) => runSlow(s, endpoints, judge, SLOW_BOUND_MS[s.limit])),
        );
        let hangs = 0;
        await pool(
          cases,
          CONCURRENCY,
          (c) => runCase(c, endpoints, judge, { deadlineMs: DEADLINE_MS, closeAfterAnswerMs: 5_000 }),
          (r) => {
            results.set(r.id, r);
            if (r.outcome === 'hang') hangs += 1;
          },
          // A dead daemon or a wall of hangs: stop early, the assertions below say why.
          () => daemon.exited() !== undefined || hangs > 50,
        );
        barrageMs = performance.now() - started;
        slowResults = await slow;
      } finally {
        clearInterval(sampler);
      }
      upstreamAfter = upstreamRequests();
      crashed = daemon.exited();

      assert.equal(daemon.exited(), undefined, `the daemon exited: ${daemon.stderr().slice(-3000)}`);
      assert.doesNotThrow(() => process.kill(daemon.pid, 0), 'the daemon process is alive');
      assert.equal(results.size, cases.length, `only ${results.size} of ${cases.length} cases ran`);
      const unclean = [...results.values()].filter((r) => r.problems.length > 0);
      assert.deepEqual(
        unclean.slice(0, 15).map((r) => describeCase(r)),
        [],
        `${unclean.length} of ${results.size} cases got no clean error`,
      );
    });

    it('refuses every browser-style request with 403 (Origin, Sec-Fetch-*, a rebinding Host)', () => {
      const browser = resultsOf('browser');
      assert.ok(browser.length >= 500, `${browser.length} browser-style cases ran`);
      const served = browser.filter((r) => r.statuses[0] !== 403);
      assert.deepEqual(served.map(describeCase), []);
      const codes = new Set(browser.map((r) => r.code));
      assert.deepEqual([...codes].sort(), ['browser_request_refused', 'host_not_allowed']);
    });

    it('refuses every bridge request without valid proxy credentials with 407, and dials nothing for it', () => {
      const unauthenticated = resultsOf('bridge-unauthenticated');
      assert.ok(unauthenticated.length >= 250, `${unauthenticated.length} unauthenticated cases ran`);
      assert.deepEqual(unauthenticated.filter((r) => r.statuses[0] !== 407).map(describeCase), []);
      // Every other bridge category carries valid credentials, so it reached the bridge's parsing.
      const reached = resultsOf('bridge-bad-connect').filter((r) => r.statuses[0] === 400);
      assert.ok(reached.length >= 300, `${reached.length} bad CONNECT targets got their 400`);
    });

    it('cuts off slow-loris clients: headers within the header timeout, bodies within the request timeout', () => {
      assert.ok(slowResults.length >= 6);
      for (const s of slowResults) {
        assert.deepEqual(s.problems, [], `${s.variant}: ${s.problems.join('; ')}`);
        assert.equal(s.finished, false, `${s.variant}: the client got to send everything`);
        assert.ok(s.cutAfterMs !== undefined, `${s.variant} was never cut off`);
      }
      for (const s of slowResults.filter(
        (x) => x.variant.startsWith('slow-headers/') && !x.variant.includes('bridge'),
      ))
        assert.deepEqual(s.statuses, [408], `${s.variant} got ${s.statuses.join(',') || 'no answer'}`);
    });

    it(`keeps its memory bounded (RSS ≤ before + ${RSS_GROWTH_BOUND_MIB} MiB) and lets it settle`, async () => {
      assert.ok(samples.length > 10, `${samples.length} RSS samples`);
      const peakKiB = Math.max(...samples.map((s) => s.rssKiB));
      assert.ok(
        peakKiB - rssBeforeKiB <= RSS_GROWTH_BOUND_MIB * 1024,
        `RSS grew from ${mib(rssBeforeKiB)} to ${mib(peakKiB)} MiB`,
      );
      // Settling: three seconds of quiet, then RSS is near where it started and no longer rising.
      await sleep(3_000);
      const quiet: number[] = [];
      for (let i = 0; i < 6; i++) {
        quiet.push((await memoryOf(daemon.pid)).rssKiB);
        await sleep(250);
      }
      rssAfterKiB = quiet[quiet.length - 1]!;
      hwmKiB = (await memoryOf(daemon.pid)).hwmKiB;
      assert.ok(
        rssAfterKiB - rssBeforeKiB <= RSS_GROWTH_BOUND_MIB * 1024,
        `RSS after the barrage ${mib(rssAfterKiB)} MiB, before ${mib(rssBeforeKiB)} MiB`,
      );
      assert.ok(
        quiet[quiet.length - 1]! - quiet[0]! <= RSS_RISING_AT_REST_MIB * 1024,
        `RSS still rising at rest: ${quiet.map(mib).join(', ')} MiB`,
      );
    });

    it('nothing reached PikPak: no hostile request made the broker call upstream', () => {
      assert.ok(results.size > 0);
      assert.equal(upstreamAfter - upstreamBefore, 0, 'requests to the emulator during the barrage');
      // The bridge never dialled anything but loopback (a guard on the generator itself).
      const logged = logLines();
      const dialled = logged.filter((l) => l.msg === 'bridge: tunnel').map((l) => String(l.host));
      const forwarded = logged
        .filter((l) => l.msg === 'bridge: forwarding upstream')
        .map((l) => String(l.upstream));
      assert.ok(
        dialled.length >= 50 && forwarded.length >= 20,
        `${dialled.length} tunnels, ${forwarded.length} forwards`,
      );
      const notLoopback = [...dialled, ...forwarded].filter(
        (h) => !/^(?:https?:\/\/)?(?:127\.|localhost\b|\[::1\]|::1\b)/.test(h),
      );
      assert.deepEqual(notLoopback, []);
    });

    it('still serves a legitimate client afterwards (socket, TCP, bridge): a valid token, a healthy account, clients unchanged', async () => {
      assert.ok(results.size > 0);
      for (const get of [
        () => legitimateToken({ socketPath: daemon.socketPath }),
        () => legitimateToken({ host: '127.0.0.1', port: daemon.tcpPort! }),
        legitimateBridgeToken,
      ]) {
        const token = await get();
        assert.ok(token.expires_in > 0);
        const about = await fetch(`${session.emulator.url}/drive/v1/about`, {
          headers: { authorization: `Bearer ${token.access_token}` },
        });
        assert.equal(about.status, 200, 'PikPak (the emulator) takes the token');
      }
      const accounts = await call({ socketPath: daemon.socketPath }, '/v1/accounts', {
        bearer: ctx.clientSecret,
      });
      assert.equal(accounts.status, 200);
      assert.deepEqual(
        (accounts.json as { name: string; health: string; state: string }[]).map((a) => [
          a.name,
          a.health,
          a.state,
        ]),
        [[ACCOUNT, 'ok', 'healthy']],
      );
      const clients = await call({ socketPath: daemon.socketPath }, '/v1/admin/clients', {
        bearer: ctx.adminToken,
      });
      assert.equal(clients.status, 200);
      assert.deepEqual(
        (clients.json as { name: string }[]).map((c) => c.name),
        ['hostile', 'hostile-proxy'],
        'no client was added or revoked by the barrage',
      );
      const revoked = await call({ socketPath: daemon.socketPath }, `/v1/accounts/${ACCOUNT}/token`, {
        bearer: ctx.revokedSecret,
      });
      assert.equal(revoked.status, 401, 'the revoked secret stays revoked');
    });

    it('logged no stack trace and no error: nothing unhandled', () => {
      assert.ok(results.size > 0);
      const log = daemon.stderr();
      assert.doesNotMatch(log, /\n\s+at .+:\d+:\d+/, 'a stack trace on stderr');
      assert.doesNotMatch(log, /uncaught|unhandled/i);
      const lines = log.split('\n').filter((l) => l.startsWith('{'));
      assert.ok(lines.length > 1000, `${lines.length} log lines (debug logging is on)`);
      const errors = lines.filter((l) => /"level":(?:50|60)\b/.test(l));
      assert.deepEqual(errors.slice(0, 5), [], `${errors.length} error lines`);
      const notJson = log.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      assert.deepEqual(notJson.slice(0, 5), [], 'stderr lines that are not log lines');
    });

    // ── helpers ──

    function logLines(): Record<string, unknown>[] {
      return daemon
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    }

    function upstreamRequests(): number {
      return Object.values(session.emulator.stats().requests).reduce((a, b) => a + b, 0);
    }

    function resultsOf(category: Category): CaseResult[] {
      return cases
        .filter((c) => c.category === category)
        .map((c) => results.get(c.id)!)
        .filter(Boolean);
    }

    function describeCase(r: CaseResult): string {
      const c = cases[r.id]!;
      return `#${r.id} ${c.target} ${c.variant}: ${r.outcome} [${r.statuses.join(',')}] ${r.problems.join('; ')}`;
    }

    function report(exitCode: number | null): Record<string, unknown> {
      const byCategory: Record<
        string,
        {
          cases: number;
          outcomes: Record<string, number>;
          statuses: Record<string, number>;
          unclean: number;
          p50Ms: number;
          maxMs: number;
        }
      > = {};
      const byVariant: Record<string, Record<string, number>> = {};
      for (const c of cases) {
        const r = results.get(c.id);
        if (!r) continue;
        const entry = (byCategory[c.category] ??= {
          cases: 0,
          outcomes: {},
          statuses: {},
          unclean: 0,
          p50Ms: 0,
          maxMs: 0,
        });
        entry.cases += 1;
        entry.outcomes[r.outcome] = (entry.outcomes[r.outcome] ?? 0) + 1;
        for (const s of r.statuses) entry.statuses[s] = (entry.statuses[s] ?? 0) + 1;
        if (r.problems.length > 0) entry.unclean += 1;
        const v = (byVariant[c.variant] ??= {});
        const key = r.statuses.length > 0 ? `answered ${r.statuses[0]}` : r.outcome;
        v[key] = (v[key] ?? 0) + 1;
      }
      for (const [category, entry] of Object.entries(byCategory)) {
        const times = cases
          .filter((c) => c.category === category)
          .map((c) => results.get(c.id)?.ms)
          .filter((x): x is number => x !== undefined)
          .sort((a, b) => a - b);
        entry.p50Ms = times[Math.floor(times.length / 2)] ?? 0;
        entry.maxMs = times[times.length - 1] ?? 0;
      }
      const all = [...results.values()];
      const targets: Record<string, number> = {};
      for (const c of cases) if (results.has(c.id)) targets[c.target] = (targets[c.target] ?? 0) + 1;
      return {
        seed: SEED,
        concurrency: CONCURRENCY,
        requests: {
          generated: cases.length + slowResults.length,
          ran: all.length + slowResults.length,
          byTarget: targets,
        },
        crashes: crashed ? 1 : 0,
        ...(crashed ? { crash: crashed } : {}),
        daemonExitCodeAtStop: exitCode,
        unclean: all.filter((r) => r.problems.length > 0).length,
        uncleanExamples: all
          .filter((r) => r.problems.length > 0)
          .slice(0, 20)
          .map(describeCase),
        outcomes: count(all.map((r) => r.outcome)),
        categories: byCategory,
        variants: byVariant,
        slowLoris: slowResults.map((s) => ({
          variant: s.variant,
          cutAfterMs: s.cutAfterMs,
          sentBytes: s.sentBytes,
          statuses: s.statuses,
          problems: s.problems,
        })),
        rss: {
          beforeMiB: mib(rssBeforeKiB),
          peakSampledMiB: samples.length ? mib(Math.max(...samples.map((s) => s.rssKiB))) : null,
          afterMiB: mib(rssAfterKiB),
          highWaterMarkMiB: mib(hwmKiB),
          boundGrowthMiB: RSS_GROWTH_BOUND_MIB,
          boundRisingAtRestMiB: RSS_RISING_AT_REST_MIB,
          samples: samples.length,
        },
        upstreamRequestsDuringBarrage: upstreamAfter - upstreamBefore,
        barrageSeconds: Math.round(barrageMs / 100) / 10,
        totalSeconds: Math.round((performance.now() - t0) / 100) / 10,
      };
    }
  },
);

function mib(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10;
}

function count(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
