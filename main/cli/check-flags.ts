/**
 * Flag checks that run before anything starts (no lock, no keychain, no refresh, no file
 * written): a bad value is a usage error, exit 2, naming the flag. `daemon`, `bridge` and
 * `install-service` call the same functions, so a unit is never written with a value the daemon
 * would refuse.
 */
import { readFileSync } from 'node:fs';
import { BridgeAddressError, parseBridgeAddress } from '../bridge/errors.js';
import { normalizeBaseUrl } from '../pikpak/base-url.js';
import { InvalidListenAddressError } from '../service/errors/invalid-listen-address-error.js';
import { parseListenAddress, type ListenAddress } from '../service/loopback.js';
import type { CommonOptions } from './common-options.js';
import { CliError, EXIT } from './exit-codes.js';

/** The flags that shape a running broker (daemon, bridge, and a unit that runs one). */
export interface ServiceFlags {
  readonly listen?: string | undefined;
  readonly bridge?: string | undefined;
  readonly notifyCommand?: string | undefined;
}

const usage = (message: string): CliError => new CliError(message, EXIT.usage);

/** The longest Unix socket path the OS accepts (sun_path less its terminating NUL). */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** The options every command takes. */
export function checkCommonOptions(options: Partial<CommonOptions>): void {
  for (const [flag, value] of [
    ['--auth-base-url', options.authBaseUrl],
    ['--drive-base-url', options.driveBaseUrl],
  ] as const) {
    if (value === undefined) continue;
    try {
      normalizeBaseUrl(value, flag);
    } catch (error) {
      throw usage(`${(error as Error).message} (got ${JSON.stringify(value.slice(0, 200))}).`);
    }
  }
  if (options.dataDir !== undefined && options.dataDir.trim() === '')
    throw usage('--data-dir is empty: give a folder, or leave it out for the default.');
  if (options.keychainService !== undefined && options.keychainService.trim() === '')
    throw usage('--keychain-service is empty: give a name, or leave it out for the default.');
  if (options.socket !== undefined) checkSocketPath(options.socket);
  if (options.upstreamCa !== undefined) checkCaFile(options.upstreamCa);
}

function checkSocketPath(path: string): void {
  if (path.trim() === '') throw usage('--socket is empty: give a path, or leave it out for the default.');
  if (process.platform === 'win32') return;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES)
    throw usage(
      `--socket ${path} is ${Buffer.byteLength(path)} bytes long; the OS takes socket paths of at most ${MAX_SOCKET_PATH_BYTES}. Pick a shorter path.`,
    );
}

function checkCaFile(path: string): void {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw usage(
      `--upstream-ca ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw usage(`--upstream-ca ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
}

/** What the broker's listeners and hooks will be, checked; throws a usage CliError. */
export function checkServiceFlags(flags: ServiceFlags): {
  listen: ListenAddress | undefined;
  bridge: ListenAddress | undefined;
} {
  let listen: ListenAddress | undefined;
  let bridge: ListenAddress | undefined;
  if (flags.listen !== undefined)
    try {
      listen = parseListenAddress(flags.listen);
    } catch (error) {
      if (error instanceof InvalidListenAddressError) throw usage(error.message);
      throw error;
    }
  if (flags.bridge !== undefined)
    try {
      bridge = parseBridgeAddress(flags.bridge);
    } catch (error) {
      if (error instanceof BridgeAddressError) throw usage(`--bridge: ${error.message}`);
      throw error;
    }
  if (listen && bridge && listen.port !== 0 && listen.port === bridge.port && listen.host === bridge.host)
    throw usage(
      `--listen ${flags.listen} and --bridge ${flags.bridge} are the same address: give each its own port.`,
    );
  if (flags.notifyCommand !== undefined && flags.notifyCommand.trim() === '')
    throw usage('--notify-command is empty: give a shell command, or leave it out.');
  return { listen, bridge };
}
