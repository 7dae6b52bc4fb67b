/** Resolves command-line/environment options into the paths and settings a runtime uses. */
import { homedir } from 'node:os';
import type { CommonOptions, SecretStoreKind } from '../cli/common-options.js';
import { defaultDataDir, defaultSocketPath } from '../storage/paths.js';
import type { UpstreamOptions } from './auth-provider.js';

export interface RuntimeConfig {
  readonly dataDir: string;
  readonly socketPath: string;
  readonly keychainService: string;
  /** `keychain` (the OS keychain; the default when absent) or `file` (secrets.age, opened with `identityFile`). */
  readonly secretStore?: SecretStoreKind;
  /** --identity-file; absent means $CREDENTIALS_DIRECTORY/identity when systemd passes one. */
  readonly identityFile?: string | undefined;
  readonly upstream: UpstreamOptions;
}

export function resolveConfig(options: CommonOptions, env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const where = { platform: process.platform, env, homedir: homedir() };
  const dataDir = options.dataDir ?? defaultDataDir(where);
  return {
    dataDir,
    socketPath: options.socket ?? defaultSocketPath({ ...where, dataDir }),
    keychainService: options.keychainService,
    secretStore: options.secretStore ?? 'keychain',
    identityFile: options.identityFile,
    upstream: {
      authBaseUrl: options.authBaseUrl,
      driveBaseUrl: options.driveBaseUrl,
      upstreamCaFile: options.upstreamCa,
    },
  };
}
