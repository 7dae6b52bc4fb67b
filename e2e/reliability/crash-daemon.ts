/**
 * The real daemon, started exactly as `pikpak-token-broker daemon` starts it (resolveConfig, the
 * logger, startDaemon), with its settings file, PikPak client and keychain wrapped so that refresh
 * number `--crash-on-refresh` stops at `--crash-at` (see crash-points.ts for the steps and the
 * stdout/stdin protocol). The crash-safety suite kills it there with SIGKILL.
 *
 *   node --import tsx e2e/reliability/crash-daemon.ts --crash-at after-answer --crash-on-refresh 2 \
 *     --data-dir DIR --keychain-service S --auth-base-url URL --drive-base-url URL
 *
 * Every common option of the CLI is accepted (and read from PIKPAK_BROKER_* like the CLI's).
 */
import { Option } from 'commander';
import { BrokerCommand } from '../../main/cli/broker-command.js';
import { addCommonOptions, type CommonOptions } from '../../main/cli/common-options.js';
import { startDaemon } from '../../main/daemon.js';
import { toAuthProvider } from '../../main/pikpak/auth-provider.js';
import { createPikPakClient } from '../../main/runtime/auth-provider.js';
import { resolveConfig } from '../../main/runtime/config.js';
import { createLogger } from '../../main/runtime/logger.js';
import { FileSettingsStore } from '../../main/storage/file-settings-store.js';
import { KeyringSecretStore } from '../../main/storage/keyring-secret-store.js';
import {
  CRASH_STEPS,
  CrashingAuthProvider,
  CrashingSecretStore,
  CrashingSettingsStore,
  CrashPlan,
  isCrashStep,
  processIo,
} from './crash-points.js';

interface CrashOptions {
  crashAt: string;
  crashOnRefresh: string;
}

const command = addCommonOptions(
  new BrokerCommand('crash-daemon')
    .addOption(new Option('--crash-at <step>', 'where to stop').choices(CRASH_STEPS).makeOptionMandatory())
    .requiredOption('--crash-on-refresh <n>', 'which refresh (1 = the one at start-up) to stop'),
);
command.parse(process.argv);
const options = command.opts<CommonOptions & CrashOptions>();
const step = options.crashAt;
const refresh = Number(options.crashOnRefresh);
if (!isCrashStep(step) || !Number.isInteger(refresh) || refresh < 1)
  throw new Error('--crash-at must be a step and --crash-on-refresh a positive integer');

const config = resolveConfig(options);
const log = createLogger({
  level: command.getOptionValueSource('logLevel') === 'default' ? 'info' : options.logLevel,
  format: options.logFormat,
});
const plan = new CrashPlan(step, refresh, processIo());
const daemon = await startDaemon(config, log, {
  overrides: {
    settings: new CrashingSettingsStore(new FileSettingsStore(config.dataDir), plan),
    auth: new CrashingAuthProvider(toAuthProvider(createPikPakClient(config.upstream)), plan),
    secrets: new CrashingSecretStore(new KeyringSecretStore({ service: config.keychainService }), plan),
  },
});
await daemon.closed;
