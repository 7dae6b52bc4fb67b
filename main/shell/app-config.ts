/**
 * The app's runtime configuration: the same folders, socket and keychain service as the daemon
 * and the CLI, from the same `PIKPAK_BROKER_*` variables (a desktop app has no flags to speak
 * of), so the app, the CLI and a daemon always agree on where things are.
 */
import { homedir } from 'node:os';
import { DEFAULT_KEYCHAIN_SERVICE } from '../cli/common-options.js';
import { DEFAULT_AUTH_BASE_URL, DEFAULT_DRIVE_BASE_URL } from '../pikpak/protocol.js';
import { resolveConfig, type RuntimeConfig } from '../runtime/config.js';
import { LOG_LEVELS } from '../runtime/logger.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  readonly runtime: RuntimeConfig;
  readonly logLevel: LogLevel;
}

const nonEmpty = (value: string | undefined): string | undefined => (value ? value : undefined);

export function appConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): AppConfig {
  const level = env.PIKPAK_BROKER_LOG_LEVEL;
  const runtime = resolveConfig(
    {
      dataDir: nonEmpty(env.PIKPAK_BROKER_DATA_DIR),
      socket: nonEmpty(env.PIKPAK_BROKER_SOCKET),
      keychainService: nonEmpty(env.PIKPAK_BROKER_KEYCHAIN_SERVICE) ?? DEFAULT_KEYCHAIN_SERVICE,
      secretStore: env.PIKPAK_BROKER_SECRET_STORE === 'file' ? 'file' : 'keychain',
      identityFile: nonEmpty(env.PIKPAK_BROKER_IDENTITY_FILE),
      authBaseUrl: nonEmpty(env.PIKPAK_BROKER_AUTH_BASE_URL) ?? DEFAULT_AUTH_BASE_URL,
      driveBaseUrl: nonEmpty(env.PIKPAK_BROKER_DRIVE_BASE_URL) ?? DEFAULT_DRIVE_BASE_URL,
      upstreamCa: nonEmpty(env.PIKPAK_BROKER_UPSTREAM_CA),
      logLevel: 'info',
    },
    { ...env, HOME: env.HOME ?? home },
  );
  return {
    runtime,
    logLevel: (LOG_LEVELS as readonly string[]).includes(level ?? '') ? (level as LogLevel) : 'info',
  };
}
