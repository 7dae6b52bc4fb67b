import type { Command } from 'commander';
import { Option } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
// Light modules only at the top: the bridge, the CA (X.509) and the daemon load in the actions.
import { DEFAULT_BRIDGE_ADDRESS } from '../../bridge/defaults.js';
import { BridgeAddressError, parseBridgeAddress } from '../../bridge/errors.js';
import { KeychainUnavailableError } from '../../core/errors/index.js';
import { checkServiceFlags } from '../check-flags.js';
import { openSecretStore } from '../../runtime/open-secret-store.js';
import { addCommonOptions } from '../common-options.js';
import { notifyCommandOption } from '../service-flags.js';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';

interface BridgeFlags {
  bridge: string;
  upstreamAuthBaseUrl?: string;
  tunnelMap?: string;
  waitForLock?: boolean;
  notifyCommand?: string;
}

/** How AList is pointed at the bridge: shown under `bridge --help`. */
const BRIDGE_HELP = `
AList connects with proxy credentials: a client secret of the broker as the password (any user name).
Without them the bridge answers 407 Proxy Authentication Required and lets nothing through.

  pikpak-token-broker clients add alist --account main   # prints SECRET, once
  ${`HTTPS_PROXY=http://alist:SECRET@${DEFAULT_BRIDGE_ADDRESS}`.padEnd(52)} # in AList's environment

Revoking the client (pikpak-token-broker clients revoke alist) closes its access at once.
pikpak-token-broker alist setup --account main --new-client alist prints every setting.`;

/** `bridge` = the daemon with the AList bridge on; `bridge ca` prints the bridge's CA certificate. */
export function bridgeCommand(): Command {
  const bridge = addCommonOptions(
    new BrokerCommand('bridge')
      .description(
        'run the broker with the AList bridge: an HTTP proxy for AList (HTTPS_PROXY) that answers ' +
          "PikPak's token and sign-in calls from the broker (the same as: daemon --bridge ADDRESS)",
      )
      .option('--bridge <address>', 'where the bridge listens (loopback only)', DEFAULT_BRIDGE_ADDRESS)
      .option(
        '--upstream-auth-base-url <url>',
        'where the bridge forwards the auth calls it does not answer (default: the PikPak host AList asked for)',
      )
      .addOption(
        new Option(
          '--tunnel-map <list>',
          'tests: host:port=host:port redirects for tunnelled hosts',
        ).hideHelp(),
      )
      .option(
        '--wait-for-lock',
        'if another broker holds the data folder, wait for it to stop instead of exiting',
      )
      .addOption(notifyCommandOption()),
  )
    .addHelpText('after', BRIDGE_HELP)
    .action(async (_opts, command: Command) => {
      const ctx = contextOf<BridgeFlags>(command, 'info');
      checkServiceFlags(ctx.options);
      const listen = ctx.options.bridge;
      const { parseTunnelMap } = await import('../../bridge/broker-bridge.js');
      let tunnelOverrides: Record<string, string>;
      try {
        tunnelOverrides = parseTunnelMap(ctx.options.tunnelMap);
      } catch (error) {
        throw new CliError((error as Error).message, EXIT.usage);
      }
      const { startDaemon } = await import('../../daemon.js'); // loaded by the command that runs it
      const daemon = await startDaemon(ctx.config, ctx.log, {
        waitForLock: ctx.options.waitForLock ?? false,
        bridge: listen,
        bridgeUpstream: {
          upstreamAuthBaseUrl: ctx.options.upstreamAuthBaseUrl,
          upstreamCaFile: ctx.config.upstream.upstreamCaFile,
          tunnelOverrides,
        },
        notifyCommand: ctx.options.notifyCommand,
      });
      await daemon.closed;
    });
  bridge.addCommand(caCommand());
  return bridge;
}

/**
 * `bridge ca`: the common options (--data-dir, --keychain-service, …) belong to `bridge`, which
 * parses them wherever they stand on the command line; this action reads them from there.
 */
function caCommand(): Command {
  return new BrokerCommand('ca')
    .description(
      "print the bridge's CA certificate (PEM), creating the CA if there is none yet; give it to " +
        'AList hosts that verify TLS (the CA can only vouch for mypikpak.com and mypikpak.net)',
    )
    .option(
      '--bundle',
      "print the public root CAs (Mozilla's, as Node.js ships them) followed by the bridge's CA: one file for SSL_CERT_FILE",
    )
    .action(async (opts: { bundle?: boolean }, command: Command) => {
      const ctx = contextOf(command.parent!);
      const { CA_CERT_FILE, LocalCa } = await import('../../bridge/local-ca.js');
      const path = join(ctx.config.dataDir, CA_CERT_FILE);
      let pem: string;
      try {
        const ca = await LocalCa.loadOrCreate({
          dataDir: ctx.config.dataDir,
          secrets: await openSecretStore(ctx.config),
          log: ctx.log,
        });
        pem = ca.certPem;
        process.stderr.write(
          `${ca.created ? 'Created the bridge CA. ' : ''}Bridge CA ${path}\n` +
            `  valid until ${ca.notAfter.toISOString()}, SHA-256 ${await ca.fingerprint()}\n`,
        );
      } catch (error) {
        // The certificate is public: without the keychain it can still be shown, if there is one.
        if (!(error instanceof KeychainUnavailableError) || !existsSync(path)) throw error;
        pem = readFileSync(path, 'utf8');
        process.stderr.write(
          `Warning: the keychain is unavailable (${error.message}); printing ${path} unchecked.\n`,
        );
      }
      if (opts.bundle) process.stdout.write(`${rootCertificates.join('\n')}\n`);
      process.stdout.write(pem);
    });
}

/** A loopback address, or a usage error (exit 2) naming the flag. */
export function bridgeAddressOrUsage(value: string, flag: string): string {
  try {
    parseBridgeAddress(value);
    return value;
  } catch (error) {
    if (error instanceof BridgeAddressError) throw new CliError(`${flag}: ${error.message}`, EXIT.usage);
    throw error;
  }
}
