/**
 * The CLI's contract with scripts and service managers: every flag `--foo-bar` of every command
 * also reads `PIKPAK_BROKER_FOO_BAR`. Commander only wires an option to its variable when the
 * variable is known as the option is added, so the name is set here, in `addOption`, through
 * which every `.option()`, `.requiredOption()` and `.addOption()` passes.
 */
import { Command, type Option } from 'commander';
import { envNameFor } from './env-options.js';

export class BrokerCommand extends Command {
  override addOption(option: Option): this {
    if (!option.envVar && option.long !== '--help' && option.long !== '--version')
      option.env(envNameFor(option));
    return super.addOption(option);
  }

  override createCommand(name?: string): BrokerCommand {
    return new BrokerCommand(name);
  }
}
