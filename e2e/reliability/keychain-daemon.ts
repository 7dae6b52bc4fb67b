/**
 * The daemon as `pikpak-token-broker daemon` runs it (main/cli/commands/daemon.ts), with one
 * difference for tests: the keeper's keychain retry interval comes from
 * PKB_TEST_KEYCHAIN_RETRY_MS (the product's is 30 s and has no flag). It takes the common flags
 * the keychain suites pass; errors are reported with the CLI's own messages and exit codes.
 *
 *   node --import tsx e2e/reliability/keychain-daemon.ts --data-dir D --socket S \
 *     --keychain-service K --auth-base-url U --drive-base-url U [--log-level L] [--log-format F]
 */
import { parseArgs } from 'node:util';
import type { CommonOptions } from '../../main/cli/common-options.js';
import { reportError } from '../../main/cli/report-error.js';
import { startDaemon } from '../../main/daemon.js';
import { resolveConfig } from '../../main/runtime/config.js';
import { createLogger } from '../../main/runtime/logger.js';

try {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      socket: { type: 'string' },
      'keychain-service': { type: 'string' },
      'auth-base-url': { type: 'string' },
      'drive-base-url': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'log-format': { type: 'string', default: 'json' },
    },
  });
  const options: CommonOptions = {
    dataDir: values['data-dir'],
    socket: values.socket,
    keychainService: values['keychain-service'] ?? 'pikpak-token-broker',
    authBaseUrl: values['auth-base-url'] ?? 'http://127.0.0.1:9',
    driveBaseUrl: values['drive-base-url'] ?? 'http://127.0.0.1:9',
    logLevel: values['log-level'] as CommonOptions['logLevel'],
    logFormat: values['log-format'] as CommonOptions['logFormat'],
  };
  const retryMs = Number(process.env.PKB_TEST_KEYCHAIN_RETRY_MS ?? '');
  const log = createLogger({ level: options.logLevel, format: options.logFormat });
  const daemon = await startDaemon(resolveConfig(options), log, {
    overrides: Number.isFinite(retryMs) && retryMs > 0 ? { keeperOptions: { keychainRetryMs: retryMs } } : {},
  });
  await daemon.closed;
} catch (error) {
  process.exitCode = reportError(error);
}
