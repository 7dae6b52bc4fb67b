/**
 * The bridge as a running broker starts it (daemon `--bridge`, the `bridge` command, the tray
 * app): the local CA from this data folder and the keychain, then the proxy in front of the
 * broker's own PikPak-compatible answers.
 */
import { readFile } from 'node:fs/promises';
import type { Broker } from '../core/broker.js';
import type { Clock, Logger, SecretStore } from '../core/ports.js';
import type { AdminCredential } from '../service/admin-credential.js';
import type { ClientRegistry } from '../service/client-registry.js';
import { LocalCa } from './local-ca.js';
import { startBridge, type Bridge, type BridgeLimits } from './proxy-server.js';

/** Where the bridge listens when nothing says otherwise. */
export { DEFAULT_BRIDGE_ADDRESS } from './defaults.js';

export interface BridgeSettings {
  /** `127.0.0.1:PORT` (loopback only). */
  readonly listen: string;
  /** Where non-token auth-host requests go; default `https://<the host AList asked for>`. */
  readonly upstreamAuthBaseUrl?: string | undefined;
  /** A PEM file of an extra CA to trust upstream (the emulator's). */
  readonly upstreamCaFile?: string | undefined;
  /** `host:port` → `host:port` redirects for tunnels (tests). */
  readonly tunnelOverrides?: Readonly<Record<string, string>> | undefined;
  readonly limits?: Partial<BridgeLimits> | undefined;
}

export interface BrokerBridgeDeps {
  readonly dataDir: string;
  readonly secrets: SecretStore;
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly admin?: AdminCredential | undefined;
  readonly clock: Clock;
  readonly log: Logger;
}

export async function startBrokerBridge(deps: BrokerBridgeDeps, settings: BridgeSettings): Promise<Bridge> {
  const ca = await LocalCa.loadOrCreate({ dataDir: deps.dataDir, secrets: deps.secrets, log: deps.log });
  const caCertPem = settings.upstreamCaFile ? await readFile(settings.upstreamCaFile, 'utf8') : undefined;
  return startBridge({
    listen: settings.listen,
    ca,
    log: deps.log,
    limits: settings.limits,
    compat: {
      broker: deps.broker,
      clients: deps.clients,
      ...(deps.admin ? { isAdmin: (digest: Buffer) => deps.admin!.matchesDigest(digest) } : {}),
      now: () => deps.clock.now(),
      log: deps.log,
    },
    upstream: {
      authBaseUrl: settings.upstreamAuthBaseUrl,
      caCertPem,
      tunnelOverrides: settings.tunnelOverrides,
    },
  });
}

/** Parses `a:443=127.0.0.1:8443,b:443=…` (the `--tunnel-map` flag). */
export function parseTunnelMap(value: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new TypeError(`bad tunnel map entry "${entry}": use host:port=host:port`);
    map[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return map;
}
