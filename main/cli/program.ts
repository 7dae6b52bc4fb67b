/** The command tree. Every flag of every command also reads PIKPAK_BROKER_<FLAG> (env-options). */
import type { Command } from 'commander';
import { BrokerCommand } from './broker-command.js';
import { accountsCommand } from './commands/accounts.js';
import { alistCommand } from './commands/alist.js';
import { bridgeCommand } from './commands/bridge.js';
import { clientsCommand } from './commands/clients.js';
import { daemonCommand } from './commands/daemon.js';
import { eventsCommand } from './commands/events.js';
import { tokenCommand } from './commands/token.js';
import { installServiceCommand } from './commands/install-service.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { secretStoreCommand } from './commands/secret-store.js';
import { statusCommand } from './commands/status.js';
import { withEnvForEveryOption } from './env-options.js';
import { EXIT } from './exit-codes.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new BrokerCommand('pikpak-token-broker')
    .description(
      'One refresher per machine for PikPak accounts: keeps the single-use refresh token in the OS keychain and hands short-lived access tokens to AList/OpenList and other local consumers.',
    )
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .addCommand(daemonCommand())
    .addCommand(loginCommand())
    .addCommand(logoutCommand())
    .addCommand(statusCommand())
    .addCommand(accountsCommand())
    .addCommand(tokenCommand())
    .addCommand(clientsCommand())
    .addCommand(eventsCommand())
    .addCommand(installServiceCommand())
    .addCommand(secretStoreCommand())
    .addCommand(bridgeCommand())
    .addCommand(alistCommand())
    .addHelpText(
      'after',
      `
Every flag --foo-bar can also be set with the environment variable PIKPAK_BROKER_FOO_BAR.

Exit codes:
  ${EXIT.ok}  ok                          ${EXIT.pikpakRejected}  PikPak refused (wrong password, captcha)
  ${EXIT.failure}  unexpected failure          ${EXIT.upstreamUnavailable}  PikPak unreachable, try again later
  ${EXIT.usage}  usage error                 ${EXIT.keychainUnavailable}  keychain or secret file unavailable
  ${EXIT.reauthRequired}  re-login needed             ${EXIT.settingsCorrupt}  settings or secrets file corrupt (kept)
  ${EXIT.brokerNotRunning}  broker not running          ${EXIT.lockHeld}  another broker holds the data folder`,
    );
  // Usage errors exit with 2 (commander's default is 1).
  const usageExit = (command: Command): void => {
    command.exitOverride((err) => {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        process.exit(EXIT.ok);
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });
    command.commands.forEach(usageExit);
  };
  usageExit(program);
  return withEnvForEveryOption(program);
}
