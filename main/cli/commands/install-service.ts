/**
 * `install-service`: writes a systemd unit (user, or `--system` with a dedicated user) or prints
 * a launchd agent, running the daemon with the flags given here. Every flag is checked exactly
 * as `daemon` checks it (check-flags.ts) before anything is written; ExecStart names this Node
 * and a script that exist (bin/, which runs dist/ or, in a checkout, the sources through tsx).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { checkServiceFlags } from '../check-flags.js';
import { addCommonOptions, DEFAULT_KEYCHAIN_SERVICE } from '../common-options.js';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';
import { bridgeOption, listenOption, notifyCommandOption } from '../service-flags.js';
import {
  LAUNCHD_LABEL,
  SYSTEM_DATA_DIR,
  SYSTEM_SOCKET,
  UNIT_NAME,
  launchdPlist,
  systemdUnit,
  type UnitPlan,
} from '../service-unit.js';

interface InstallFlags {
  print?: boolean;
  force?: boolean;
  listen?: string;
  bridge?: string;
  notifyCommand?: string;
  system?: boolean;
  serviceUser: string;
  secretStore: 'keychain' | 'file';
  identityFile?: string;
  encryptCredential?: boolean;
  unitDir?: string;
}

const DEFAULT_SERVICE_USER = 'pikpak-broker';
const SERVICE_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const ENCRYPTED_CREDENTIAL = '/etc/credstore.encrypted/pikpak-token-broker-identity.cred';

const usage = (message: string): CliError => new CliError(message, EXIT.usage);

/** The package folder (holds package.json and bin/), from main/cli/commands or dist/main/cli/commands. */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'bin/pikpak-token-broker.js'))) return dir;
    if (dirname(dir) === dir)
      throw new CliError('cannot find the package folder (bin/ is missing)', EXIT.failure);
  }
}

/** Interpreter and script for ExecStart; both exist and the script can run (dist/ or tsx). */
export function entryPoint(root = packageRoot()): [string, string] {
  const script = join(root, 'bin/pikpak-token-broker.js');
  if (!existsSync(join(root, 'dist/main/cli.js'))) {
    let tsx = false;
    try {
      import.meta.resolve('tsx/esm/api');
      tsx = true;
    } catch {
      tsx = false;
    }
    if (!tsx)
      throw new CliError(
        `${root} has neither the compiled CLI (dist/) nor tsx, so a service could not start it. Run: npm run build`,
        EXIT.failure,
      );
  }
  return [process.execPath, script];
}

/** The daemon's arguments: the flags given here (absolute paths), none of them a secret. */
function daemonArgs(command: Command, flags: InstallFlags): string[] {
  const args = ['daemon'];
  const given = (key: string): boolean =>
    command.getOptionValue(key) !== undefined && command.getOptionValueSource(key) !== 'default';
  const add = (flag: string, value: string): void => void args.push(flag, value);
  const path = (key: string): string => resolve(String(command.getOptionValue(key)));
  if (given('dataDir')) add('--data-dir', path('dataDir'));
  else if (flags.system) add('--data-dir', SYSTEM_DATA_DIR);
  if (given('socket')) add('--socket', path('socket'));
  else if (flags.system) add('--socket', SYSTEM_SOCKET);
  if (given('keychainService') && command.getOptionValue('keychainService') !== DEFAULT_KEYCHAIN_SERVICE)
    add('--keychain-service', String(command.getOptionValue('keychainService')));
  for (const [key, flag] of [
    ['authBaseUrl', '--auth-base-url'],
    ['driveBaseUrl', '--drive-base-url'],
    ['logLevel', '--log-level'],
    ['logFormat', '--log-format'],
  ] as const)
    if (given(key)) add(flag, String(command.getOptionValue(key)));
  if (given('upstreamCa')) add('--upstream-ca', path('upstreamCa'));
  if (flags.listen !== undefined) add('--listen', flags.listen);
  if (flags.bridge !== undefined) add('--bridge', flags.bridge);
  if (flags.notifyCommand !== undefined) add('--notify-command', flags.notifyCommand);
  // The identity itself goes through systemd credentials ($CREDENTIALS_DIRECTORY), never here.
  if (flags.secretStore === 'file') add('--secret-store', 'file');
  return args;
}

/** The store flags: a file store needs an age identity to hand over; a system unit has no keychain. */
function checkStoreFlags(flags: InstallFlags): UnitPlan['identity'] {
  if (flags.secretStore === 'keychain') {
    if (flags.identityFile !== undefined)
      throw usage('--identity-file goes with --secret-store file (the keychain needs no identity).');
    if (flags.system)
      throw usage(
        'a --system service has no desktop keychain: add --secret-store file --identity-file PATH (create one with: pikpak-token-broker secret-store init --identity-file PATH).',
      );
    return undefined;
  }
  if (flags.identityFile === undefined)
    throw usage(
      '--secret-store file needs --identity-file PATH: the service gets that age identity through systemd credentials.',
    );
  const path = resolve(flags.identityFile);
  let text: string;
  try {
    if (!statSync(path).isFile()) throw usage(`--identity-file ${path} is not a file.`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw usage(
        `--identity-file ${path} does not exist: create it first with: pikpak-token-broker secret-store init --identity-file ${path}`,
      );
    throw usage(`--identity-file ${path} cannot be read (${code ?? 'error'}).`);
  }
  // Checked, never shown: the file is a secret.
  if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/m.test(text))
    throw usage(`--identity-file ${path} holds no age identity (a line AGE-SECRET-KEY-1…).`);
  if (flags.encryptCredential && !flags.system)
    throw usage('--encrypt-credential works with --system (systemd-creds encrypts with the host key).');
  return flags.encryptCredential
    ? { path: ENCRYPTED_CREDENTIAL, encrypted: true }
    : { path, encrypted: false };
}

const underHome = (path: string): boolean => /^\/(home|root|run\/user)(\/|$)/.test(path);

export function installServiceCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('install-service')
      .description(
        'run the daemon as a service: writes a systemd unit (a user unit, or with --system a system-wide one) or prints the launchd agent (macOS)',
      )
      .option('--print', 'only print the unit, write nothing')
      .addOption(listenOption())
      .addOption(bridgeOption())
      .addOption(notifyCommandOption())
      .option(
        '--system',
        'a system-wide unit (/etc/systemd/system) running as a dedicated user, for machines with no login user',
      )
      .option('--service-user <name>', 'with --system: the user the service runs as', DEFAULT_SERVICE_USER)
      // --secret-store and --identity-file are common options: with `file`, the identity reaches the
      // service through systemd credentials (LoadCredential=), never its command line.
      .option(
        '--encrypt-credential',
        'with --system: LoadCredentialEncrypted= instead; prints the systemd-creds encrypt line to run',
      )
      .addOption(new Option('--unit-dir <dir>', 'write the unit here instead (tests, staging)').hideHelp())
      .option('--force', 'overwrite an existing unit'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<InstallFlags>(command);
    const flags = ctx.options;
    checkServiceFlags(flags);
    if (!SERVICE_USER.test(flags.serviceUser))
      throw usage(
        `--service-user ${JSON.stringify(flags.serviceUser)} is not a user name (lowercase letters, digits, _ and -).`,
      );
    if (flags.system && process.platform !== 'linux') throw usage('--system is for systemd (Linux).');
    const identity = checkStoreFlags(flags);
    const exec = [...entryPoint(), ...daemonArgs(command, flags)];

    if (process.platform === 'darwin') {
      const path = join(homedir(), 'Library/LaunchAgents', `${LAUNCHD_LABEL}.plist`);
      process.stdout.write(
        `On macOS the tray app starts at login by itself (menu: Start at login). For the headless daemon, save this as\n${path}\nand run: launchctl load -w ${path}\n\n${launchdPlist(exec)}`,
      );
      return;
    }
    if (process.platform === 'win32')
      throw usage('On Windows, use the tray app (menu: Start at login) to run the broker at login.');

    const dataDir = exec[exec.indexOf('--data-dir') + 1];
    const extraWritable =
      flags.system && exec.includes('--data-dir') && dataDir !== SYSTEM_DATA_DIR ? [dataDir!] : [];
    const unit = systemdUnit({
      exec,
      systemUser: flags.system ? flags.serviceUser : undefined,
      identity,
      needsHome: exec.some(underHome),
      extraWritable,
    });
    if (flags.print) {
      process.stdout.write(unit);
      return;
    }
    const unitDir =
      flags.unitDir ??
      (flags.system
        ? '/etc/systemd/system'
        : join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd/user'));
    const path = join(resolve(unitDir), UNIT_NAME);
    if (existsSync(path) && !flags.force) throw usage(`${path} already exists; add --force to overwrite it.`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, unit, { mode: 0o644 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM')
        throw new CliError(
          `cannot write ${path} (${code})${flags.system ? ': run it with sudo, or use --print' : ''}.`,
          EXIT.failure,
        );
      throw error;
    }
    process.stdout.write(nextSteps(path, flags, identity, exec));
  });
}

function nextSteps(
  path: string,
  flags: InstallFlags,
  identity: UnitPlan['identity'],
  exec: string[],
): string {
  const common = exec.slice(exec.indexOf('daemon') + 1);
  const statusArgs: string[] = [];
  for (const flag of ['--data-dir', '--socket'])
    if (common.includes(flag)) statusArgs.push(flag, common[common.indexOf(flag) + 1]!);
  if (flags.system) {
    const user = flags.serviceUser;
    return [
      `Wrote ${path}`,
      '1. Create the service user (once):',
      `  sudo useradd --system --home-dir ${SYSTEM_DATA_DIR} --shell /usr/sbin/nologin ${user}`,
      ...(identity?.encrypted
        ? [
            '2. Encrypt the identity for the service (with the host key; then keep the plain file offline):',
            `  sudo mkdir -p ${dirname(identity.path)} && sudo systemd-creds encrypt --name=identity ${resolve(flags.identityFile!)} ${identity.path}`,
          ]
        : ['2. The identity is read by systemd (as root) at each start; keep it where it is (0600).']),
      `3. Start it now and at every boot:`,
      `  sudo systemctl daemon-reload && sudo systemctl enable --now ${UNIT_NAME}`,
      // Through the running service, which holds the identity: the service user has no readable copy.
      `4. Sign in through the running service (as the service user, against the same data folder):`,
      `  sudo -u ${user} pikpak-token-broker login ${statusArgs.join(' ')} --account NAME --username USER`,
      `Check: systemctl status ${UNIT_NAME}; sudo -u ${user} pikpak-token-broker status ${statusArgs.join(' ')}`,
      `Logs:  journalctl -u ${UNIT_NAME} -f`,
      '',
    ].join('\n');
  }
  return [
    `Wrote ${path}`,
    'Start it now and at every login:',
    `  systemctl --user daemon-reload && systemctl --user enable --now ${UNIT_NAME}`,
    'On a headless machine (NAS, server), keep it running without a login session:',
    '  sudo loginctl enable-linger "$USER"',
    `Check: systemctl --user status ${UNIT_NAME}; pikpak-token-broker status ${statusArgs.join(' ')}`.trimEnd(),
    `Logs:  journalctl --user -u ${UNIT_NAME} -f`,
    '',
  ].join('\n');
}
