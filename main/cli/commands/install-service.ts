import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { BrokerCommand } from '../broker-command.js';
import { addCommonOptions, DEFAULT_KEYCHAIN_SERVICE } from '../common-options.js';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';

const UNIT = 'pikpak-token-broker.service';
const LABEL = 'io.github.pikpak-token-broker';

/** The installed entry point: bin/ works from a checkout (through tsx) and from a package. */
function binPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/pikpak-token-broker.js');
}

/** Flags worth baking into the service: only what differs from the defaults. */
function daemonArgs(command: Command): string[] {
  const args = ['daemon'];
  for (const key of [
    'dataDir',
    'socket',
    'keychainService',
    'authBaseUrl',
    'driveBaseUrl',
    'upstreamCa',
    'bridge',
    'listen',
  ] as const) {
    if (command.getOptionValueSource(key) === 'default' || command.getOptionValue(key) === undefined)
      continue;
    const value = String(command.getOptionValue(key));
    if (key === 'keychainService' && value === DEFAULT_KEYCHAIN_SERVICE) continue;
    args.push(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value);
  }
  return args;
}

const quote = (s: string): string =>
  /^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`;

export function systemdUnit(exec: string[]): string {
  return `[Unit]
Description=PikPak Token Broker: the one refresher of your PikPak tokens
Documentation=https://www.npmjs.com/package/pikpak-token-broker
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${exec.map(quote).join(' ')}
Restart=on-failure
RestartSec=5
# 8 = corrupt settings file, 9 = another broker holds the lock: restarting cannot fix either.
RestartPreventExitStatus=8 9

[Install]
WantedBy=default.target
`;
}

export function launchdPlist(exec: string[]): string {
  const args = exec
    .map((a) => `    <string>${a.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>${LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
</dict>
</plist>
`;
}

export function installServiceCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('install-service')
      .description(
        'run the daemon at login: writes a systemd user unit (Linux) or prints the launchd way (macOS)',
      )
      .option('--print', 'only print the unit, write nothing')
      .option('--bridge <address>', 'the service also runs the AList bridge here (e.g. 127.0.0.1:5288)')
      .option('--listen <address>', 'the service also serves the token service on loopback TCP')
      .option('--force', 'overwrite an existing unit'),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ print?: boolean; force?: boolean }>(command);
    const exec = [process.execPath, binPath(), ...daemonArgs(command)];
    if (process.platform === 'darwin') {
      const path = join(homedir(), 'Library/LaunchAgents', `${LABEL}.plist`);
      process.stdout.write(
        `On macOS the tray app starts at login by itself (menu: Start at login). For the headless daemon, save this as\n${path}\nand run: launchctl load -w ${path}\n\n${launchdPlist(exec)}`,
      );
      return;
    }
    if (process.platform === 'win32')
      throw new CliError(
        'On Windows, use the tray app (menu: Start at login) to run the broker at login.',
        EXIT.usage,
      );
    const unit = systemdUnit(exec);
    if (ctx.options.print) {
      process.stdout.write(unit);
      return;
    }
    const configHome = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
    const path = join(configHome, 'systemd/user', UNIT);
    if (existsSync(path) && !ctx.options.force)
      throw new CliError(`${path} already exists; add --force to overwrite it.`, EXIT.usage);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, unit, { mode: 0o644 });
    process.stdout.write(
      [
        `Wrote ${path}`,
        'Start it now and at every login:',
        `  systemctl --user daemon-reload && systemctl --user enable --now ${UNIT}`,
        'On a headless machine (NAS, server), keep it running without a login session:',
        '  sudo loginctl enable-linger "$USER"',
        `Logs: journalctl --user -u ${UNIT} -f`,
        '',
      ].join('\n'),
    );
  });
}
