/**
 * A bridge in front of a real Broker (fake PikPak behind it, fake clock, real client registry; the
 * token service's own test rig) and, upstream, the PikPak emulator over HTTPS: forwarded auth paths
 * and tunnelled drive calls reach the emulator, so its stats show what went upstream.
 */
import { startEmulator, type Emulator } from '../../../e2e/emulator/server.js';
import { captureLog, startRig, type CapturedLog, type Rig } from '../../service/testing/service-rig.js';
import type { PikPakCompatDeps } from '../../service/pikpak-compat.js';
import { LocalCa } from '../local-ca.js';
import { startBridge, type Bridge, type BridgeLimits, type BridgeUpstream } from '../proxy-server.js';

export interface BridgeRig {
  readonly service: Rig;
  readonly emulator: Emulator;
  readonly emulatorHttpsPort: number;
  readonly ca: LocalCa;
  readonly bridge: Bridge;
  readonly log: CapturedLog;
  readonly compat: PikPakCompatDeps;
  /** A client secret for account "main". */
  readonly secret: string;
  stop(): Promise<void>;
}

export async function startBridgeRig(
  options: { limits?: Partial<BridgeLimits>; upstream?: Partial<BridgeUpstream> } = {},
): Promise<BridgeRig> {
  const service = await startRig();
  const emulator = await startEmulator({
    https: true,
    accounts: [{ username: 'user@example.com', password: 'pw' }],
  });
  const emulatorHttpsPort = Number(new URL(emulator.httpsUrl!).port);
  const { ca } = await LocalCa.generate();
  const log = captureLog();
  const compat: PikPakCompatDeps = {
    broker: service.broker,
    clients: service.clients,
    isAdmin: (digest) => service.admin.matchesDigest(digest),
    now: () => service.clock.now(),
    log,
  };
  const bridge = await startBridge({
    listen: '127.0.0.1:0',
    compat,
    ca,
    log,
    limits: options.limits,
    upstream: {
      authBaseUrl: options.upstream?.authBaseUrl ?? emulator.httpsUrl,
      caCertPem: options.upstream?.caCertPem ?? emulator.caCertPem,
      tunnelOverrides: {
        'api-drive.mypikpak.net:443': `127.0.0.1:${emulatorHttpsPort}`,
        'api-drive.mypikpak.com:443': `127.0.0.1:${emulatorHttpsPort}`,
        ...options.upstream?.tunnelOverrides,
      },
    },
  });
  const secret = await service.addClient('alist', ['main']);
  return {
    service,
    emulator,
    emulatorHttpsPort,
    ca,
    bridge,
    log,
    compat,
    secret,
    stop: async () => {
      await bridge.close();
      await emulator.close();
      await service.stop();
    },
  };
}
