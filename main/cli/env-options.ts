/**
 * Every flag `--foo-bar` of every command also reads `PIKPAK_BROKER_FOO_BAR` (the flag wins when
 * both are set); see BrokerCommand, which wires them.
 */
import type { Command, Option } from 'commander';

export const ENV_PREFIX = 'PIKPAK_BROKER_';

/** `--data-dir <dir>` → `PIKPAK_BROKER_DATA_DIR`; `--no-color` → `PIKPAK_BROKER_COLOR`. */
export function envNameFor(option: Option): string {
  const long = option.long ?? option.short ?? '';
  return (
    ENV_PREFIX +
    long
      .replace(/^--?(no-)?/, '')
      .replace(/-/g, '_')
      .toUpperCase()
  );
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off|)$/i;

/**
 * Checks that every option of the tree reads its variable (BrokerCommand sets them as options are
 * added) and reads yes/no variables the way people write them.
 */
export function withEnvForEveryOption(root: Command): Command {
  const visit = (command: Command): void => {
    for (const option of command.options as Option[])
      if (!option.envVar && option.long !== '--help' && option.long !== '--version')
        throw new Error(
          `${command.name()} ${option.long ?? option.flags} has no environment variable: build commands with BrokerCommand`,
        );
    command.commands.forEach(visit);
  };
  visit(root);
  // Commander sets a boolean flag to true whenever its variable exists, even "0" or "false";
  // read booleans the way people write them instead.
  root.hook('preAction', (_root, action) => {
    for (const option of action.options as Option[]) {
      if (option.required || option.optional || !option.envVar) continue;
      const key = option.attributeName();
      if (action.getOptionValueSource(key) !== 'env') continue;
      const raw = process.env[option.envVar] ?? '';
      if (!TRUE.test(raw) && !FALSE.test(raw))
        action.error(
          `${option.envVar}=${raw} is not a yes/no value (use 1/0, true/false, yes/no or on/off)`,
          {
            exitCode: 2,
          },
        );
      const truthy = TRUE.test(raw);
      action.setOptionValueWithSource(key, option.negate ? !truthy : truthy, 'env');
    }
  });
  return root;
}
