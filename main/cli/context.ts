/** What every command action starts from: resolved config and a logger. */
import type { Command } from 'commander';
import type { Logger } from '../core/ports.js';
import { resolveConfig, type RuntimeConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { checkCommonOptions } from './check-flags.js';
import type { CommonOptions } from './common-options.js';

export interface CommandContext<O> {
  readonly options: CommonOptions & O;
  readonly config: RuntimeConfig;
  readonly log: Logger;
}

/** Commands that print results keep logs quiet (errors only) unless asked otherwise. */
export function contextOf<O>(
  command: Command,
  defaultLevel: CommonOptions['logLevel'] = 'error',
): CommandContext<O> {
  const options = command.opts<CommonOptions & O>();
  checkCommonOptions(options);
  const level = command.getOptionValueSource('logLevel') === 'default' ? defaultLevel : options.logLevel;
  let log: Logger | undefined;
  return {
    options,
    config: resolveConfig(options),
    // Created on first use: client commands that never log do not load the logger.
    get log() {
      log ??= createLogger({ level, format: options.logFormat });
      return log;
    },
  };
}
