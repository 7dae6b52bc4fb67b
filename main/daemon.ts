/**
 * The headless daemon: the core without the Electron shell (NAS, servers, tests). It takes the
 * data directory's lock (one refresher per machine), opens the broker, keeps every account's
 * token fresh, and stops cleanly on SIGINT/SIGTERM, letting an in-flight refresh persist.
 */
import type { Broker } from './core/broker.js';
import { LockHeldError } from './core/errors/index.js';
import { systemClock, type Logger } from './core/ports.js';
import type { RuntimeConfig } from './runtime/config.js';
import { AdminCredential } from './service/admin-credential.js';
import { clientRequestRoutes } from './service/client-request-routes.js';
import { ClientRegistry } from './service/client-registry.js';
import { ClientRequests } from './service/client-requests.js';
import { startTokenService, type TokenService, type TokenServiceLimits } from './service/token-service.js';
import { openBroker, type OpenBrokerOverrides } from './runtime/open-broker.js';
import { acquireInstanceLock, type InstanceLock } from './storage/instance-lock.js';
import { ensurePrivateDir } from './storage/paths.js';
import type { Bridge, BridgeSettings } from './bridge/index.js';
import { KEYCHAIN_ALTERNATIVE, openSecretStore } from './runtime/open-secret-store.js';
import { ListenerInUseError } from './service/errors/index.js';
import { parseListenAddress } from './service/loopback.js';
import { parseBridgeAddress } from './bridge/errors.js';
import { NotifyCommand, type NotifyCommandOptions } from './runtime/notify/notify-command.js';
import { watchBrokerForNotifications } from './runtime/notify/broker-notifications.js';

export interface DaemonOptions {
  /** Wait for another broker to release the lock instead of exiting. */
  readonly waitForLock?: boolean;
  readonly lockPollMs?: number;
  readonly overrides?: OpenBrokerOverrides;
  /** Also serve the token service on TCP, e.g. `127.0.0.1:8765` (loopback only). */
  readonly listen?: string | undefined;
  readonly serviceLimits?: Partial<TokenServiceLimits>;
  /** Also run the AList bridge (an HTTPS_PROXY for AList) on this loopback address, e.g. `127.0.0.1:5288`. */
  readonly bridge?: string | undefined;
  /** The bridge's upstream (tests point it at the emulator); see main/bridge/broker-bridge.ts. */
  readonly bridgeUpstream?: Omit<BridgeSettings, 'listen'> | undefined;
  /** `--notify-command`: run through /bin/sh on reauth-required, recovered, secret-store-unavailable. */
  readonly notifyCommand?: string | undefined;
  /** Tests shorten the notify command's timeout and rate limit. */
  readonly notifyOptions?: Partial<Omit<NotifyCommandOptions, 'command' | 'log'>>;
}

export interface DaemonHandle {
  readonly broker: Broker;
  /** Undefined only when a stop signal arrived during start-up. */
  readonly service: TokenService | undefined;
  readonly clients: ClientRegistry;
  /** Consumers asking for a secret, waiting for the owner's approval (tray or CLI). */
  readonly requests: ClientRequests;
  /** The AList bridge, when `bridge` was given. */
  readonly bridge: Bridge | undefined;
  /** Resolves when the daemon has stopped (signal or stop()). */
  readonly closed: Promise<void>;
  stop(reason?: string): Promise<void>;
}

export async function startDaemon(
  config: RuntimeConfig,
  log: Logger,
  options: DaemonOptions = {},
): Promise<DaemonHandle> {
  // Bad addresses fail before the lock is taken or anything is read (the CLI checks them earlier still).
  if (options.listen !== undefined) parseListenAddress(options.listen);
  if (options.bridge !== undefined) parseBridgeAddress(options.bridge);
  await ensurePrivateDir(config.dataDir);
  const lock = await takeLock(config, log, options);
  let broker: Broker;
  let clients: ClientRegistry;
  let admin: AdminCredential;
  try {
    broker = await openBroker(config, log, options.overrides);
    clients = await ClientRegistry.open({ dataDir: config.dataDir, log, clock: options.overrides?.clock });
    admin = await AdminCredential.loadOrCreate({ dataDir: config.dataDir, log });
  } catch (error) {
    await lock.release();
    throw error;
  }
  const requests = new ClientRequests({
    clients,
    accounts: () => broker.accountNames(),
    clock: options.overrides?.clock,
    log,
  });

  const notifier =
    options.notifyCommand === undefined
      ? undefined
      : new NotifyCommand({
          command: options.notifyCommand,
          log,
          clock: options.overrides?.clock,
          ...options.notifyOptions,
        });
  const unwatch = notifier
    ? watchBrokerForNotifications(broker, (event) => notifier.notify(event))
    : undefined;

  broker.on('account-state', ({ account, state }) => {
    if (state.type === 'reauth-required')
      log.warn(
        { account, reason: state.reason },
        `account "${account}" needs a new sign-in: ${state.message} Run: pikpak-token-broker login --account ${account}`,
      );
  });

  // Timers are unref'd so CLI commands never hang; the daemon holds the process open itself.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let service: TokenService | undefined;
  let bridge: Bridge | undefined;
  let stopping: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      try {
        await bridge?.close();
        await service?.close();
        requests.close();
        await broker.stop();
        unwatch?.();
        await clients.flush();
      } finally {
        await lock.release();
        // Only now: while a write is in flight, write-file-atomic's signal-exit listener re-raises
        // a signal it believes nobody else handles, which would kill the daemon mid-persist.
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        clearInterval(keepAlive);
        log.info({}, 'stopped');
        resolveClosed();
      }
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) log.info({ signal }, 'already stopping; an in-flight refresh is being saved');
    void stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const names = broker.accountNames();
  log.info(
    { pid: process.pid, dataDir: config.dataDir, keychain: broker.vault.description, accounts: names.length },
    names.length
      ? `broker started with ${names.length} account(s)`
      : 'broker started; no account yet (add one with: pikpak-token-broker login)',
  );
  // Listeners first, so consumers find the socket at once: token calls wait for the start-up
  // refresh (bounded, see Broker.getAccessToken), /v1/health answers right away.
  broker.holdUntilStarted();
  try {
    service = await startTokenService({
      broker,
      socketPath: config.socketPath,
      listen: options.listen,
      clients,
      admin,
      log,
      clock: options.overrides?.clock,
      limits: options.serviceLimits,
      extraRoutes: clientRequestRoutes(requests),
    });
  } catch (error) {
    await stop('the token service could not start');
    throw inUse(error, '--listen', options.listen);
  }
  if (options.bridge !== undefined && !stopping) {
    try {
      // The bridge (its proxy and the local CA's X.509 code) is loaded only when it is asked for.
      const { startBrokerBridge } = await import('./bridge/broker-bridge.js');
      bridge = await startBrokerBridge(
        {
          dataDir: config.dataDir,
          secrets: options.overrides?.secrets ?? (await openSecretStore(config)),
          broker,
          clients,
          admin,
          clock: options.overrides?.clock ?? systemClock,
          log,
        },
        { ...options.bridgeUpstream, listen: options.bridge },
      );
    } catch (error) {
      await stop('the AList bridge could not start');
      throw inUse(error, '--bridge', options.bridge);
    }
  }
  if (!stopping) await broker.start();
  if (stopping) return { broker, service, clients, requests, bridge, closed, stop };
  if (!broker.vault.status.available) {
    const keychain = (config.secretStore ?? 'keychain') === 'keychain';
    log.warn(
      { problem: broker.vault.status.problem },
      `the ${keychain ? 'keychain' : 'secret store'} is unavailable: tokens are kept in memory only and will be saved when it comes back (never to a plain file)${
        keychain ? `. ${KEYCHAIN_ALTERNATIVE}` : ''
      }`,
    );
  }
  for (const account of broker.accounts())
    log.info({ account: account.name, health: account.health }, account.description);
  return { broker, service, clients, requests, bridge, closed, stop };
}

/** EADDRINUSE, said with the flag whose address is taken. */
function inUse(error: unknown, flag: string, address: string | undefined): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EADDRINUSE' && address !== undefined ? new ListenerInUseError(flag, address) : error;
}

async function takeLock(config: RuntimeConfig, log: Logger, options: DaemonOptions): Promise<InstanceLock> {
  for (let announced = false; ;) {
    try {
      return await acquireInstanceLock(config.dataDir, { command: 'daemon' });
    } catch (error) {
      if (!(error instanceof LockHeldError) || !options.waitForLock) throw error;
      if (!announced) log.warn({ holder: error.holder }, `${error.message}; waiting for it to stop`);
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, options.lockPollMs ?? 2000));
    }
  }
}
