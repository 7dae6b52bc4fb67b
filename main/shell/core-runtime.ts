/**
 * The core as the app runs it in Electron's main process — the same as the headless daemon
 * (startDaemon: instance lock, broker, token service), plus the client-approval queue and the
 * AList bridge. The main process is the only process that ever refreshes.
 */
import type { Broker } from '../core/broker.js';
import type { Logger } from '../core/ports.js';
import { startDaemon, type DaemonHandle, type DaemonOptions } from '../daemon.js';
import type { RuntimeConfig } from '../runtime/config.js';
import type { ClientRequests } from '../service/client-requests.js';
import type { ClientRegistry } from '../service/client-registry.js';
import { BridgeStatus, type StartBridge } from './bridge-runner.js';

export interface ShellCore {
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly requests: ClientRequests;
  readonly bridge: BridgeStatus;
  /** Resolves once the core has stopped (quit, or a signal to the process). */
  readonly closed: Promise<void>;
  stop(reason?: string): Promise<void>;
}

export interface StartCoreOptions {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  readonly bridge: { readonly enabled: boolean; readonly port: number };
  readonly startBridge: StartBridge;
  readonly daemonOptions?: DaemonOptions;
  /** startDaemon; tests may pass their own. */
  readonly start?: (config: RuntimeConfig, log: Logger, options: DaemonOptions) => Promise<DaemonHandle>;
}

export async function startCore(options: StartCoreOptions): Promise<ShellCore> {
  const { config, log } = options;
  const daemon = await (options.start ?? startDaemon)(config, log, options.daemonOptions ?? {});
  // The approval queue is the daemon's: the token service serves its routes, the tray shows it.
  const { broker, clients, requests } = daemon;

  const bridge = options.bridge.enabled
    ? new BridgeStatus({ state: 'starting', address: undefined, message: 'Starting…' })
    : BridgeStatus.off('Turned off in the app settings.');
  if (options.bridge.enabled)
    await bridge.start(
      () => options.startBridge({ broker, clients, config, port: options.bridge.port, log }),
      options.bridge.port,
    );

  let stopping: Promise<void> | undefined;
  const stop = (reason?: string): Promise<void> =>
    (stopping ??= (async () => {
      await bridge
        .close()
        .catch((error: unknown) =>
          log.warn({ error: (error as Error).message }, 'the bridge failed to stop'),
        );
      await daemon.stop(reason);
    })());
  // A signal stops the daemon by itself; the bridge and the queue follow.
  void daemon.closed.then(() => stop('the broker stopped'));

  return { broker, clients, requests, bridge, closed: daemon.closed, stop };
}
