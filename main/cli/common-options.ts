/** Options every command takes (and, like every flag, reads from PIKPAK_BROKER_* variables). */
import { Option, type Command } from 'commander';
import { DEFAULT_AUTH_BASE_URL, DEFAULT_DRIVE_BASE_URL } from '../pikpak/protocol.js';
import { LOG_LEVELS } from '../runtime/logger.js';

export interface CommonOptions {
  dataDir?: string;
  socket?: string;
  keychainService: string;
  /** Default `keychain` (optional so configs built in code need not name it). */
  secretStore?: SecretStoreKind;
  identityFile?: string;
  authBaseUrl: string;
  driveBaseUrl: string;
  upstreamCa?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat?: 'json' | 'pretty';
}

export const DEFAULT_KEYCHAIN_SERVICE = 'pikpak-token-broker';
export const SECRET_STORE_KINDS = ['keychain', 'file'] as const;
export type SecretStoreKind = (typeof SECRET_STORE_KINDS)[number];

export function addCommonOptions(command: Command): Command {
  return command
    .option(
      '--data-dir <dir>',
      'folder for settings and the instance lock (default: the platform data folder)',
    )
    .option(
      '--socket <path>',
      "the token service's socket (default: $XDG_RUNTIME_DIR/pikpak-token-broker/broker.sock)",
    )
    .option(
      '--keychain-service <name>',
      'keychain service name the secrets are stored under',
      DEFAULT_KEYCHAIN_SERVICE,
    )
    .addOption(
      new Option(
        '--secret-store <store>',
        'where secrets are kept: the OS keychain, or an age-encrypted file secrets.age in the data folder (see: secret-store init)',
      )
        .choices(SECRET_STORE_KINDS)
        .default('keychain'),
    )
    .option(
      '--identity-file <path>',
      'the age identity that opens secrets.age with --secret-store file (default: $CREDENTIALS_DIRECTORY/identity under systemd)',
    )
    .option('--auth-base-url <url>', "PikPak's auth host", DEFAULT_AUTH_BASE_URL)
    .option('--drive-base-url <url>', "PikPak's drive host", DEFAULT_DRIVE_BASE_URL)
    .option(
      '--upstream-ca <file>',
      "an extra CA certificate (PEM) to trust for PikPak's hosts (e.g. the emulator's)",
    )
    .addOption(new Option('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines as JSON or for people (default: pretty on a terminal)',
      ).choices(['json', 'pretty']),
    );
}
