/**
 * A real token service on a real Unix socket in a temp folder, in front of a real Broker whose
 * PikPak, keychain and clock are fakes. Every log call is captured (as JSON text) so tests can
 * prove that no secret reaches the log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../core/broker.js';
import type { Logger } from '../../core/ports.js';
import { Secret } from '../../core/secret.js';
import { FakeAuth } from '../../core/testing/fake-auth.js';
import { FakeClock, seededRandom } from '../../core/testing/fake-clock.js';
import { FakeSecretStore } from '../../core/testing/fake-secret-store.js';
import { AdminCredential } from '../admin-credential.js';
import { ClientRegistry } from '../client-registry.js';
import { startTokenService, type TokenService, type TokenServiceLimits } from '../token-service.js';
import type { Route } from '../route.js';
import { MemorySettingsStore } from './memory-settings-store.js';

export interface CapturedLog extends Logger {
  readonly lines: string[];
  text(): string;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push(JSON.stringify({ level, msg, ...obj }));
    };
  return {
    lines,
    text: () => lines.join('\n'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

export interface Rig {
  readonly dir: string;
  readonly dataDir: string;
  readonly socketPath: string;
  readonly clock: FakeClock;
  readonly auth: FakeAuth;
  readonly secrets: FakeSecretStore;
  readonly broker: Broker;
  readonly clients: ClientRegistry;
  readonly admin: AdminCredential;
  /** The admin token, as the CLI would read it from admin.token. */
  readonly adminToken: string;
  readonly log: CapturedLog;
  readonly service: TokenService;
  /** `{socketPath}`, for the test clients. */
  readonly target: { socketPath: string };
  /** Creates a client and returns its secret. */
  addClient(name: string, accounts: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface RigOptions {
  /** Accounts signed in before the service starts (default: ["main"]). */
  readonly accounts?: readonly string[];
  readonly limits?: Partial<TokenServiceLimits>;
  readonly listen?: string;
  /** Where the log goes instead of the capture (benchmarks pass a silent logger). */
  readonly log?: Logger;
  readonly extraRoutes?: (parts: {
    broker: Broker;
    clients: ClientRegistry;
    clock: FakeClock;
    log: Logger;
  }) => readonly Route[];
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  // Short: Unix socket paths are limited to ~100 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'pkb-'));
  const dataDir = join(dir, 'data');
  const socketPath = join(dir, 'run', 'broker.sock');
  const clock = new FakeClock();
  const auth = new FakeAuth();
  const secrets = new FakeSecretStore();
  const captured = captureLog();
  const log = options.log ?? captured;
  const broker = await Broker.open({
    settings: new MemorySettingsStore(),
    secrets,
    auth,
    clock,
    random: seededRandom(3),
    log,
  });
  for (const account of options.accounts ?? ['main']) {
    const username = account === 'main' ? 'user@example.com' : `${account}@example.com`;
    auth.passwords.set(username, 'right-password');
    await broker.login({
      account,
      username,
      password: new Secret('right-password'),
      platform: 'android',
      rememberPassword: false,
    });
  }
  const clients = await ClientRegistry.open({ dataDir, log });
  const admin = await AdminCredential.loadOrCreate({ dataDir, log });
  const adminToken = (await AdminCredential.read(dataDir)).reveal();
  const service = await startTokenService({
    broker,
    socketPath,
    listen: options.listen,
    clients,
    admin,
    log,
    clock,
    limits: options.limits,
    extraRoutes: options.extraRoutes?.({ broker, clients, clock, log }),
  });
  return {
    dir,
    dataDir,
    socketPath,
    clock,
    auth,
    secrets,
    broker,
    clients,
    admin,
    adminToken,
    log: captured,
    service,
    target: { socketPath },
    addClient: async (name, accounts) => (await clients.add(name, accounts)).reveal(),
    stop: async () => {
      await service.close();
      await clients.close();
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
