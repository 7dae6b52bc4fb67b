/**
 * The AList bridge as the app runs it: on 127.0.0.1:<bridge port from the app settings>, with the
 * data folder's local CA (its key in the keychain), answering token calls from this broker. The
 * app shows its state; a bridge that cannot start (port taken, keychain locked) leaves the rest
 * of the app working and says why.
 */
import type { Broker } from '../core/broker.js';
import { systemClock, type Logger } from '../core/ports.js';
import { startBrokerBridge } from '../bridge/index.js';
import { proxyUrl, SECRET_PLACEHOLDER } from '../bridge/alist-setup.js';
import { DEFAULT_AUTH_BASE_URL } from '../pikpak/protocol.js';
import type { RuntimeConfig } from '../runtime/config.js';
import type { ClientRegistry } from '../service/client-registry.js';
import { openSecretStore } from '../runtime/open-secret-store.js';
import type { BridgeView } from './ipc-channels.js';

export interface RunningBridge {
  readonly address: string;
  readonly proxyUrl: string;
  close(): Promise<void>;
}

export interface BridgeStartDeps {
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly config: RuntimeConfig;
  readonly port: number;
  readonly log: Logger;
}

export type StartBridge = (deps: BridgeStartDeps) => Promise<RunningBridge>;

/** The bridge as the daemon runs it (main/bridge/broker-bridge.ts), on the app's port. */
export const startAppBridge: StartBridge = async ({ broker, clients, config, port, log }) =>
  startBrokerBridge(
    {
      dataDir: config.dataDir,
      secrets: await openSecretStore(config),
      broker,
      clients,
      clock: systemClock,
      log,
    },
    {
      listen: `127.0.0.1:${port}`,
      upstreamCaFile: config.upstream.upstreamCaFile,
      // Pointed elsewhere than PikPak (the emulator): the bridge's upstream follows.
      ...(config.upstream.authBaseUrl === DEFAULT_AUTH_BASE_URL
        ? {}
        : { upstreamAuthBaseUrl: config.upstream.authBaseUrl }),
    },
  );

/** The bridge's state as the status window and the AList setup text show it. */
export class BridgeStatus {
  #view: BridgeView;
  #running: RunningBridge | undefined;

  constructor(initial: BridgeView) {
    this.#view = initial;
  }

  static off(message: string): BridgeStatus {
    return new BridgeStatus({ state: 'off', address: undefined, message });
  }

  view(): BridgeView {
    return this.#view;
  }

  async start(run: () => Promise<RunningBridge>, port: number): Promise<void> {
    this.#view = { state: 'starting', address: undefined, message: `Starting on 127.0.0.1:${port}…` };
    try {
      this.#running = await run();
      this.#view = {
        state: 'running',
        address: this.#running.address,
        // The bridge wants a client secret as the proxy password (a 407 otherwise), so say so.
        message: `AList's HTTPS_PROXY is ${proxyUrl(this.#running.address, SECRET_PLACEHOLDER)}, with a client secret as ${SECRET_PLACEHOLDER}`,
      };
    } catch (error) {
      this.#view = {
        state: 'failed',
        address: undefined,
        message: `The bridge could not start on 127.0.0.1:${port}: ${(error as Error).message}`,
      };
    }
  }

  async close(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    if (running) await running.close();
    this.#view = { state: 'off', address: undefined, message: 'Stopped.' };
  }
}
