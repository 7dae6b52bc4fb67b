/**
 * The real daemon for the hostile-input and other-user suites: the CLI in a child process
 * (`daemon [--listen 127.0.0.1:0] [--bridge 127.0.0.1:0]`), a private gnome-keyring, the PikPak
 * emulator over plain HTTP, an account signed in with `login`, and client secrets made with
 * `clients add` (one of them revoked at once).
 */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { collect, runCli, spawnCli, waitFor, type CliResult } from '../support/cli-process.js';
import { startPrivateKeyring, type PrivateKeyring } from '../support/keyring-session.js';

export const ACCOUNT = 'main';
export const USERNAME = 'hostile@example.com';
const PASSWORD = 'hostile-test-password';

/** Everything shared by the daemons of one suite: keychain, emulator, data folder, signed-in account. */
export interface Session {
  readonly keyring: PrivateKeyring;
  readonly emulator: Emulator;
  /** A 0755 temp folder holding the data folder (0700) and whatever else the suite wants. */
  readonly dir: string;
  readonly dataDir: string;
  /** The CLI options every command of this session takes (data dir, keychain service, emulator). */
  readonly common: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startSession(service: string): Promise<Session | { skipped: string }> {
  const keyring = await startPrivateKeyring();
  if ('skipped' in keyring) return { skipped: `no private keychain: ${keyring.skipped}` };
  let emulator: Emulator | undefined;
  let dir: string | undefined;
  try {
    emulator = await startEmulator({ accounts: [{ username: USERNAME, password: PASSWORD }] });
    dir = await mkdtemp(join(tmpdir(), 'pkb-hostile-'));
    await chmod(dir, 0o755);
    const dataDir = join(dir, 'data');
    const common = [
      '--data-dir',
      dataDir,
      '--keychain-service',
      service,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
    ];
    const env = { ...keyring.env };
    const login = await runCli(
      ['login', '--account', ACCOUNT, '--username', USERNAME, '--password-stdin', ...common],
      { env, input: PASSWORD },
    );
    if (login.code !== 0) throw new Error(`login failed (${login.code}): ${login.stderr}`);
    const [em, d] = [emulator, dir];
    return {
      keyring,
      emulator: em,
      dir: d,
      dataDir,
      common,
      env,
      stop: async () => {
        await em.close();
        await keyring.stop();
        await rm(d, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await emulator?.close();
    await keyring.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface DaemonOptions {
  /** `--socket PATH`; without it the default under `xdgRuntimeDir`. */
  readonly socketPath?: string;
  /** XDG_RUNTIME_DIR for the daemon (and so the default socket's folder). */
  readonly xdgRuntimeDir?: string;
  readonly listen?: boolean;
  readonly bridge?: boolean;
  readonly logLevel?: 'debug' | 'info';
}

export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly socketPath: string;
  /** The token service's loopback TCP port (with `listen`). */
  readonly tcpPort: number | undefined;
  /** The bridge's port (with `bridge`). */
  readonly bridgePort: number | undefined;
  /** Its stderr so far (JSON log lines). */
  stderr(): string;
  /** Set once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then the CLI's result. */
  stop(): Promise<CliResult>;
}

export async function startDaemon(session: Session, options: DaemonOptions = {}): Promise<RunningDaemon> {
  const args = ['daemon', '--log-format', 'json', '--log-level', options.logLevel ?? 'info'];
  if (options.listen) args.push('--listen', '127.0.0.1:0');
  if (options.bridge) args.push('--bridge', '127.0.0.1:0');
  if (options.socketPath) args.push('--socket', options.socketPath);
  const runtime = options.xdgRuntimeDir ?? join(session.dir, 'run');
  await mkdir(runtime, { recursive: true, mode: 0o700 });
  const child = spawnCli([...args, ...session.common], { env: { ...session.env, XDG_RUNTIME_DIR: runtime } });
  let stderr = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('exit', (code, signal) => (exit = { code, signal }));
  const done = collect(child, { timeoutMs: 30 * 60_000 });
  child.stderr!.on('data', (d: string | Buffer) => (stderr += d.toString()));
  let socketPath = '';
  let tcpPort: number | undefined;
  let bridgePort: number | undefined;
  try {
    await waitFor(
      () => {
        if (exit)
          throw new Error(`the daemon exited (${exit.code ?? exit.signal}) at start: ${stderr.slice(-3000)}`);
        const service = /token service listening on (\S+?)(?: and http:\/\/127\.0\.0\.1:(\d+))?"/.exec(
          stderr,
        );
        if (service) {
          socketPath = service[1]!;
          if (service[2]) tcpPort = Number(service[2]);
        }
        const bridge = /AList bridge listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (bridge) bridgePort = Number(bridge[1]);
        return (
          socketPath !== '' &&
          (!options.listen || tcpPort !== undefined) &&
          (!options.bridge || bridgePort !== undefined)
        );
      },
      'the daemon to listen',
      60_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    await done;
    throw error;
  }
  return {
    child,
    pid: child.pid!,
    socketPath,
    tcpPort,
    bridgePort,
    stderr: () => stderr,
    exited: () => exit,
    stop: async () => {
      if (!exit) child.kill('SIGTERM');
      return done;
    },
  };
}

/** `clients add NAME --account ACCOUNT` through the running daemon; the secret it printed. */
export async function addClient(
  session: Session,
  socketPath: string,
  name: string,
  account = ACCOUNT,
): Promise<string> {
  const added = await runCli(
    ['clients', 'add', name, '--account', account, '--socket', socketPath, ...session.common],
    {
      env: session.env,
    },
  );
  if (added.code !== 0) throw new Error(`clients add failed (${added.code}): ${added.stderr}`);
  return added.stdout.trim();
}

export async function revokeClient(session: Session, socketPath: string, name: string): Promise<void> {
  const revoked = await runCli(['clients', 'revoke', name, '--socket', socketPath, ...session.common], {
    env: session.env,
  });
  if (revoked.code !== 0) throw new Error(`clients revoke failed (${revoked.code}): ${revoked.stderr}`);
}

export async function readAdminToken(session: Session): Promise<string> {
  return (await readFile(join(session.dataDir, 'admin.token'), 'utf8')).trim();
}

/** A loopback port nobody listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status. */
export async function memoryOf(pid: number): Promise<{ rssKiB: number; hwmKiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}
