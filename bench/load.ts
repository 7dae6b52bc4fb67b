/**
 * The load generator, run as its own process so it never shares an event loop with the server
 * it measures. Keeps `connections` keep-alive connections busy for `durationMs` and prints one
 * JSON line: requests, errors, requests/s and latency percentiles (ms).
 *   node --import tsx bench/load.ts '{"socketPath":"…","path":"/…","headers":{},"connections":16,"durationMs":3000}'
 */
import { Agent, request } from 'node:http';

interface LoadSpec {
  socketPath: string;
  path: string;
  headers: Record<string, string>;
  connections: number;
  durationMs: number;
  warmupMs?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });

function once(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        socketPath: spec.socketPath,
        path: spec.path,
        headers: { host: 'localhost', ...spec.headers },
        agent,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function run(
  untilMs: number,
  latencies: number[] | undefined,
): Promise<{ ok: number; errors: number }> {
  let ok = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (performance.now() < untilMs) {
        const start = process.hrtime.bigint();
        const success = await once();
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (success) {
          ok += 1;
          latencies?.push(ms);
        } else errors += 1;
      }
    }),
  );
  return { ok, errors };
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

await run(performance.now() + (spec.warmupMs ?? 500), undefined);
const latencies: number[] = [];
const started = performance.now();
const { ok, errors } = await run(started + spec.durationMs, latencies);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const result: LoadResult = {
  requests: ok,
  errors,
  rps: ok / elapsed,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  max: latencies.at(-1) ?? NaN,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
agent.destroy();
