/**
 * The AList bridge's cost per proxied call: the same HTTPS requests, one at a time over a
 * keep-alive connection, straight to the PikPak emulator and through the bridge, in one run.
 * - tunnelled: GET /drive/v1/about on the drive host (CONNECT tunnel, bytes piped, never decrypted);
 * - forwarded: GET /v1/user/me on the auth host (TLS terminated by the bridge, request forwarded);
 * - answered: POST /v1/auth/token on the auth host, answered from the broker (no direct twin: it
 *   replaces a round trip to PikPak, so only its own latency is reported).
 * Budget: the bridge adds < 2 ms (p50) per proxied call. `npm run bench` calls `benchBridge()`;
 * `tsx bench/bridge.ts [--calls N]` prints the result as JSON.
 */
import { Agent as HttpsAgent, request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { pathToFileURL } from 'node:url';
import type { Duplex } from 'node:stream';
import { startBridgeRig } from '../main/bridge/testing/bridge-rig.js';
import { proxyAuthorization } from '../main/bridge/testing/proxy-client.js';
import { PRESETS } from '../main/pikpak/protocol.js';

export interface LatencyStats {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface ProxiedComparison {
  readonly direct: LatencyStats;
  readonly viaBridge: LatencyStats;
  /** viaBridge − direct. */
  readonly addedP50Ms: number;
  readonly addedP99Ms: number;
}

export interface BridgeBenchResult {
  readonly calls: number;
  readonly tunnelled: ProxiedComparison;
  readonly forwarded: ProxiedComparison;
  readonly answered: { readonly viaBridge: LatencyStats };
  readonly budgetMs: number;
  /** Both proxied kinds add less than the budget at p50. */
  readonly withinBudget: boolean;
}

export const BRIDGE_BUDGET_MS = 2;

export async function benchBridge(
  options: { calls?: number; warmup?: number } = {},
): Promise<BridgeBenchResult> {
  const calls = options.calls ?? 1000;
  const warmup = options.warmup ?? 100;
  const rig = await startBridgeRig({ limits: { keepAliveTimeoutMs: 60_000 } });
  const emulatorCa = rig.emulator.caCertPem!;
  const emulatorPort = rig.emulatorHttpsPort;
  const direct = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: emulatorCa });
  // With proxy credentials, as AList's HTTPS_PROXY=http://alist:SECRET@… sends them.
  const tunnelToDrive = new TunnelAgent(rig.bridge.port, emulatorCa, rig.secret);
  const tunnelToAuth = new TunnelAgent(rig.bridge.port, rig.ca.certPem, rig.secret);
  const body = JSON.stringify({
    client_id: PRESETS.android.clientId,
    client_secret: PRESETS.android.clientSecret,
    grant_type: 'refresh_token',
    refresh_token: rig.secret,
  });
  try {
    const measure = async (call: () => Promise<number>): Promise<LatencyStats> => {
      for (let i = 0; i < warmup; i++) await call();
      const samples: number[] = [];
      for (let i = 0; i < calls; i++) {
        const started = process.hrtime.bigint();
        const status = await call();
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (status === 0) throw new Error('no answer');
      }
      return stats(samples);
    };
    const about = { path: '/drive/v1/about', headers: { authorization: 'Bearer bench' } };
    const me = { path: '/v1/user/me', headers: { authorization: 'Bearer bench' } };
    const tunnelled = compare(
      await measure(() => get(direct, '127.0.0.1', emulatorPort, 'api-drive.mypikpak.net', about)),
      await measure(() => get(tunnelToDrive, 'api-drive.mypikpak.net', 443, 'api-drive.mypikpak.net', about)),
    );
    const forwarded = compare(
      await measure(() => get(direct, '127.0.0.1', emulatorPort, 'user.mypikpak.net', me)),
      await measure(() => get(tunnelToAuth, 'user.mypikpak.net', 443, 'user.mypikpak.net', me)),
    );
    const answered = await measure(() =>
      get(tunnelToAuth, 'user.mypikpak.net', 443, 'user.mypikpak.net', {
        path: '/v1/auth/token',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }),
    );
    return {
      calls,
      tunnelled,
      forwarded,
      answered: { viaBridge: answered },
      budgetMs: BRIDGE_BUDGET_MS,
      withinBudget: tunnelled.addedP50Ms < BRIDGE_BUDGET_MS && forwarded.addedP50Ms < BRIDGE_BUDGET_MS,
    };
  } finally {
    direct.destroy();
    tunnelToDrive.destroy();
    tunnelToAuth.destroy();
    await rig.stop();
  }
}

/**
 * An HTTPS agent whose connections go through the bridge with CONNECT and proxy credentials, as
 * Go's HTTPS_PROXY=http://alist:SECRET@… does.
 */
class TunnelAgent extends HttpsAgent {
  readonly #proxyPort: number;
  readonly #ca: string;
  readonly #proxyAuthorization: string;

  constructor(proxyPort: number, ca: string, proxySecret: string) {
    super({ keepAlive: true, maxSockets: 1 });
    this.#proxyPort = proxyPort;
    this.#ca = ca;
    this.#proxyAuthorization = proxyAuthorization(proxySecret);
  }

  override createConnection(
    options: { host?: string; port?: number; servername?: string },
    callback: (error: Error | null, socket?: Duplex) => void,
  ): Duplex | undefined {
    const host = options.servername ?? options.host ?? '';
    const socket = netConnect({ host: '127.0.0.1', port: this.#proxyPort });
    socket.setNoDelay(true);
    socket.once('error', (error) => callback(error));
    socket.write(
      `CONNECT ${host}:${options.port ?? 443} HTTP/1.1\r\nHost: ${host}:${options.port ?? 443}\r\n` +
        `Proxy-Authorization: ${this.#proxyAuthorization}\r\n\r\n`,
    );
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      if (!head.subarray(0, 12).toString().includes(' 200'))
        return callback(new Error(`CONNECT refused: ${head.subarray(0, 40).toString('latin1')}`));
      const tls: TLSSocket = tlsConnect({ socket, servername: host, ca: this.#ca });
      tls.once('secureConnect', () => callback(null, tls));
      tls.once('error', (error) => callback(error));
    };
    socket.on('data', onData);
    return undefined;
  }
}

function get(
  agent: HttpsAgent,
  host: string,
  port: number,
  servername: string,
  spec: { path: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        servername,
        agent,
        path: spec.path,
        method: spec.method ?? 'GET',
        headers: { host: servername, ...spec.headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

function stats(samples: number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    calls: samples.length,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
  };
}

function compare(direct: LatencyStats, viaBridge: LatencyStats): ProxiedComparison {
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    direct,
    viaBridge,
    addedP50Ms: round(viaBridge.p50Ms - direct.p50Ms),
    addedP99Ms: round(viaBridge.p99Ms - direct.p99Ms),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--calls');
  const result = await benchBridge(at > 0 ? { calls: Number(process.argv[at + 1]) } : {});
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.withinBudget ? 0 : 1;
}
