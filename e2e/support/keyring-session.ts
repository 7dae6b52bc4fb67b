/**
 * A private, throw-away Secret Service for tests: its own D-Bus session bus and its own
 * gnome-keyring-daemon, with HOME, XDG_* and the bus socket in a fresh 0700 temp folder, so
 * tests never see (let alone write to) the user's own keychain.
 *
 *   const keyring = await startPrivateKeyring();
 *   if ('skipped' in keyring) return t.skip(keyring.skipped);
 *   usePrivateKeyringInThisProcess(keyring);   // before the first keychain call, or:
 *   await runKeyringChild(keyring.env, { service, ops: [...] });
 *   …
 *   await keyring.stop();
 *
 * What @napi-rs/keyring honours (checked by keyring-secret-store.test.ts): DBUS_SESSION_BUS_ADDRESS
 * (libdbus; when unset it tries $XDG_RUNTIME_DIR/bus, then X11 autolaunch, which is compiled out),
 * read ONCE per process at the first keychain call. So a process can use one bus only: set the
 * environment before the first call, and run scenarios needing another bus in a child process
 * (`runKeyringChild`).
 *
 * Needs (Debian/Ubuntu packages): dbus-x11 (dbus-launch), dbus-bin (dbus-send), gnome-keyring;
 * libsecret-tools (secret-tool) for the tests that look at entries from outside.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PrivateKeyring {
  /** The whole environment a process needs to use this keyring (and nothing of the user's). */
  readonly env: Readonly<Record<string, string>>;
  /** The temp folder holding HOME, XDG_RUNTIME_DIR and the bus configuration. */
  readonly dir: string;
  /** Locks the default collection (org.freedesktop.Secret.Service.Lock, through dbus-send). */
  lock(): Promise<void>;
  /** Unlocks it again (restarts the daemon with `--replace --unlock`, reading the password). */
  unlock(): Promise<void>;
  isLocked(): Promise<boolean>;
  /** Stops gnome-keyring-daemon but keeps the bus: a session without a Secret Service. */
  stopSecretService(): Promise<void>;
  /** The pid of the process owning org.freedesktop.secrets on this bus, if any. */
  secretServicePid(): Promise<number | undefined>;
  /** Kills the daemons and removes the temp folder. Idempotent. */
  stop(): Promise<void>;
}

export type PrivateKeyringResult = PrivateKeyring | { skipped: string };

export interface StartOptions {
  /** Start gnome-keyring-daemon (default true); false gives a bus without a Secret Service. */
  secretService?: boolean;
  /**
   * The bus refuses to deliver messages to the Secret Service (a D-Bus policy `deny`), the way a
   * sandbox or a security policy refuses a program: the "access denied" case.
   */
  denyAccess?: boolean;
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD_SCRIPT = join(REPO_ROOT, 'e2e', 'support', 'keyring-child.ts');
const PASSWORD = 'private-keyring-password';
const SECRETS_NAME = 'org.freedesktop.secrets';
const DEFAULT_COLLECTION = '/org/freedesktop/secrets/aliases/default';
/** Variables that could lead a process to the user's own session, keychain or display. */
const USER_SESSION_VARS = [
  'DBUS_SESSION_BUS_ADDRESS',
  'DBUS_SESSION_BUS_PID',
  'DBUS_SESSION_BUS_WINDOWID',
  'GNOME_KEYRING_CONTROL',
  'GNOME_KEYRING_PID',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'XDG_RUNTIME_DIR',
  'XDG_DATA_HOME',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'HOME',
];

export async function startPrivateKeyring(options: StartOptions = {}): Promise<PrivateKeyringResult> {
  if (process.platform !== 'linux')
    return { skipped: `the private keyring harness needs Linux (this is ${process.platform})` };
  const needed: Array<[binary: string, aptPackage: string]> = [
    ['dbus-launch', 'dbus-x11'],
    ['dbus-send', 'dbus-bin'],
    ['gnome-keyring-daemon', 'gnome-keyring'],
  ];
  const missing = needed.filter(([binary]) => !findBinary(binary));
  if (missing.length > 0) {
    return {
      skipped:
        `private keyring unavailable: ${missing.map(([b]) => b).join(', ')} not found ` +
        `(apt-get install ${missing.map(([, p]) => p).join(' ')})`,
    };
  }

  const dir = await mkdtemp(join(tmpdir(), 'pikpak-keyring-'));
  await chmod(dir, 0o700);
  const home = join(dir, 'home');
  const runtime = join(dir, 'run');
  for (const folder of [home, runtime]) await mkdir(folder, { mode: 0o700 });
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
  };

  // Our own bus configuration: the socket in our folder, and no service directories, so nothing
  // of the system's (or the user's) is ever activated on this bus.
  const busConfig = join(dir, 'session.conf');
  await writeFile(
    busConfig,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${runtime}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>${
      options.denyAccess
        ? `
    <deny send_destination="${SECRETS_NAME}"/>`
        : ''
    }
  </policy>
</busconfig>
`,
    { mode: 0o600 },
  );

  const pids: { bus?: number } = {};
  let stopped = false;
  let env: Record<string, string> = baseEnv;
  const killSync = () => {
    for (const pid of [secretServicePidSync(env), pids.bus]) if (pid) signal(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killSync);

  const cleanupAfterFailure = async (error: unknown): Promise<never> => {
    process.removeListener('exit', killSync);
    for (const pid of [await secretServicePid(env).catch(() => undefined), pids.bus])
      if (pid) signal(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  };

  try {
    const launched = await run('dbus-launch', ['--sh-syntax', `--config-file=${busConfig}`], {
      env: baseEnv,
    });
    if (launched.code !== 0) throw new Error(`dbus-launch failed (${launched.code}): ${launched.stderr}`);
    const busVars = parseShellExports(launched.stdout);
    const address = busVars.DBUS_SESSION_BUS_ADDRESS;
    if (!address) throw new Error(`dbus-launch printed no DBUS_SESSION_BUS_ADDRESS: ${launched.stdout}`);
    pids.bus = Number(busVars.DBUS_SESSION_BUS_PID) || undefined;
    env = { ...baseEnv, ...busVars };

    if (options.secretService !== false) {
      const keyringVars = await startKeyringDaemon(env, []);
      env = { ...env, GNOME_KEYRING_CONTROL: join(runtime, 'keyring'), ...keyringVars };
    }
  } catch (error) {
    return cleanupAfterFailure(error);
  }

  const keyring: PrivateKeyring = {
    get env() {
      return env;
    },
    dir,
    async lock() {
      await dbusSend(env, SECRETS_NAME, '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', [
        `array:objpath:${DEFAULT_COLLECTION}`,
      ]);
      if (!(await keyring.isLocked())) throw new Error('the private keyring did not lock');
    },
    async unlock() {
      await startKeyringDaemon(env, ['--replace']);
      await waitFor(async () => !(await keyring.isLocked()), 'the private keyring to unlock');
    },
    async isLocked() {
      const reply = await dbusSend(
        env,
        SECRETS_NAME,
        DEFAULT_COLLECTION,
        'org.freedesktop.DBus.Properties.Get',
        ['string:org.freedesktop.Secret.Collection', 'string:Locked'],
      );
      return /boolean true/.test(reply);
    },
    async stopSecretService() {
      const pid = await secretServicePid(env);
      if (pid) signal(pid, 'SIGTERM');
      await waitFor(
        async () => !(await nameHasOwner(env, SECRETS_NAME)),
        'gnome-keyring-daemon to leave the bus',
      );
      if (pid) await waitForExit(pid);
    },
    secretServicePid: () => secretServicePid(env),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killSync);
      const daemon = await secretServicePid(env).catch(() => undefined);
      for (const pid of [daemon, pids.bus]) {
        if (!pid) continue;
        signal(pid, 'SIGTERM');
        await waitForExit(pid);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return keyring;
}

/**
 * Points this process at the private keyring: sets HOME, XDG_*, DBUS_SESSION_BUS_ADDRESS… and
 * removes DISPLAY/WAYLAND_DISPLAY. Must run before the process's first keychain call (the binding
 * reads the bus address once per process).
 */
export function usePrivateKeyringInThisProcess(keyring: PrivateKeyring): void {
  for (const name of USER_SESSION_VARS) delete process.env[name];
  Object.assign(process.env, keyring.env);
}

/**
 * An environment with no reachable session bus: the address points at a socket that does not
 * exist (`unset: true` removes it instead, so libdbus tries $XDG_RUNTIME_DIR/bus and X11
 * autolaunch); HOME and XDG_RUNTIME_DIR point into `dir`.
 */
export function noSessionEnv(
  dir: string,
  options: { unset?: boolean } = {},
): Record<string, string | undefined> {
  return {
    HOME: dir,
    XDG_RUNTIME_DIR: dir,
    DBUS_SESSION_BUS_ADDRESS: options.unset ? undefined : `unix:path=${join(dir, 'no-such-bus')}`,
  };
}

// ── Keychain calls in a child process ─────────────────────────────────────────────────────────

export interface KeyringChildOp {
  op: 'get' | 'set' | 'delete';
  account: string;
  kind: 'refresh-token' | 'password';
  /** For `set`. */
  value?: string;
}

export interface KeyringChildRequest {
  service: string;
  timeoutMs?: number;
  ops: KeyringChildOp[];
}

export type KeyringChildOutcome =
  | { ok: true; value?: string | null }
  | { ok: false; name: string; code?: string; reason?: string; message: string; detail?: string };

/**
 * Runs `ops` with `KeyringSecretStore` in a fresh Node process whose environment is this
 * process's minus everything that leads to the user's session, plus `env` (an undefined value
 * removes the variable). Needed whenever a test wants a different bus than its own process uses.
 */
export async function runKeyringChild(
  env: Readonly<Record<string, string | undefined>>,
  request: KeyringChildRequest,
): Promise<KeyringChildOutcome[]> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const name of USER_SESSION_VARS) delete childEnv[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const result = await run(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, JSON.stringify(request)], {
    env: childEnv,
    cwd: REPO_ROOT,
    timeoutMs: 60_000,
  });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as KeyringChildOutcome[];
  } catch {
    throw new Error(`keyring child failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  }
}

// ── secret-tool (libsecret-tools): the keyring seen from outside ──────────────────────────────

export function hasSecretTool(): boolean {
  return findBinary('secret-tool') !== undefined;
}

export async function secretTool(
  env: Readonly<Record<string, string>>,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('secret-tool', args, { env: { ...env }, timeoutMs: 15_000 });
}

// ── plumbing ──────────────────────────────────────────────────────────────────────────────────

async function startKeyringDaemon(
  env: Record<string, string>,
  extra: string[],
): Promise<Record<string, string>> {
  const started = await run(
    'gnome-keyring-daemon',
    [...extra, '--unlock', '--components=secrets', '--daemonize'],
    { env, input: PASSWORD },
  );
  if (started.code !== 0) throw new Error(`gnome-keyring-daemon failed (${started.code}): ${started.stderr}`);
  await waitFor(() => nameHasOwner(env, SECRETS_NAME), 'gnome-keyring-daemon to own org.freedesktop.secrets');
  return parseShellExports(started.stdout);
}

async function secretServicePid(env: Record<string, string>): Promise<number | undefined> {
  if (!env.DBUS_SESSION_BUS_ADDRESS) return undefined;
  const reply = await dbusSend(
    env,
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.GetConnectionUnixProcessID',
    [`string:${SECRETS_NAME}`],
  ).catch(() => '');
  const match = /uint32 (\d+)/.exec(reply);
  return match ? Number(match[1]) : undefined;
}

function secretServicePidSync(env: Record<string, string>): number | undefined {
  if (!env.DBUS_SESSION_BUS_ADDRESS) return undefined;
  const reply = spawnSync(
    'dbus-send',
    dbusSendArgs(
      'org.freedesktop.DBus',
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus.GetConnectionUnixProcessID',
      [`string:${SECRETS_NAME}`],
    ),
    { env, encoding: 'utf8', timeout: 2_000 },
  );
  const match = /uint32 (\d+)/.exec(reply.stdout ?? '');
  return match ? Number(match[1]) : undefined;
}

async function nameHasOwner(env: Record<string, string>, name: string): Promise<boolean> {
  const reply = await dbusSend(
    env,
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.NameHasOwner',
    [`string:${name}`],
  );
  return /boolean true/.test(reply);
}

function dbusSendArgs(dest: string, path: string, method: string, args: string[]): string[] {
  return ['--session', '--print-reply', '--reply-timeout=5000', `--dest=${dest}`, path, method, ...args];
}

async function dbusSend(
  env: Record<string, string>,
  dest: string,
  path: string,
  method: string,
  args: string[],
): Promise<string> {
  const result = await run('dbus-send', dbusSendArgs(dest, path, method, args), { env, timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`dbus-send ${method} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `NAME='value';` / `NAME=value;` lines, as printed by dbus-launch --sh-syntax and gnome-keyring-daemon. */
export function parseShellExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|"([^"]*)"|([^;\s]*));?\s*$/.exec(line);
    if (match?.[1]) vars[match[1]] = match[2] ?? match[3] ?? match[4] ?? '';
  }
  return vars;
}

function findBinary(name: string): string | undefined {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (!folder) continue;
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Gone, or a zombie nobody reaps (containers whose init does not reap). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitForExit(pid: number): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!isGone(pid)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      return;
    }
    await sleep(20);
  }
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs a command and collects its output. Resolves at exit, not when its pipes close: daemons
 * that fork may keep them open.
 */
function run(
  command: string,
  args: string[],
  options: { env: Record<string, string | undefined>; input?: string; cwd?: string; timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, stdout, stderr });
      };
      // Let buffered output arrive, but do not wait for pipes a daemon inherited.
      child.on('close', finish);
      setTimeout(finish, 300);
    });
  });
}
