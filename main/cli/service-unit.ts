/**
 * The service definitions install-service writes: a systemd unit (user or system-wide) and a
 * launchd agent. Pure text from a plan, so tests read the exact unit a user would get.
 */

export const UNIT_NAME = 'pikpak-token-broker.service';
export const LAUNCHD_LABEL = 'io.github.pikpak-token-broker';
/** systemd's StateDirectory=/RuntimeDirectory= name for the system-wide service. */
export const SYSTEM_DIR_NAME = 'pikpak-token-broker';
export const SYSTEM_DATA_DIR = `/var/lib/${SYSTEM_DIR_NAME}`;
export const SYSTEM_SOCKET = `/run/${SYSTEM_DIR_NAME}/broker.sock`;
/** The credential name the daemon reads as $CREDENTIALS_DIRECTORY/identity. */
export const IDENTITY_CREDENTIAL = 'identity';

export interface UnitPlan {
  /** Interpreter, script and the daemon's arguments; never a secret, never the identity path. */
  readonly exec: readonly string[];
  /** A system-wide unit running as this user; undefined for a user unit. */
  readonly systemUser?: string | undefined;
  /** The age identity handed over with systemd credentials. */
  readonly identity?: { readonly path: string; readonly encrypted: boolean } | undefined;
  /** Paths the system unit must see although they are under /home (ProtectHome=read-only then). */
  readonly needsHome?: boolean;
  /** A data folder outside StateDirectory= that a system unit must be able to write. */
  readonly extraWritable?: readonly string[];
}

/**
 * One ExecStart= word, quoted the way systemd unquotes: C escapes inside double quotes, `$$` for
 * a literal `$` (else systemd expands variables) and `%%` for a literal `%` (else specifiers).
 */
export function systemdWord(word: string): string {
  const escaped = word.replace(/\$/g, '$$$$').replace(/%/g, '%%');
  if (/^[\w@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function systemdUnit(plan: UnitPlan): string {
  const system = plan.systemUser !== undefined;
  const lines = [
    '[Unit]',
    'Description=PikPak Token Broker: the one refresher of your PikPak tokens',
    'Documentation=https://www.npmjs.com/package/pikpak-token-broker',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${plan.exec.map(systemdWord).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    '# 2 = a bad flag, 8 = corrupt settings file, 9 = another broker holds the lock: restarting cannot fix them.',
    'RestartPreventExitStatus=2 8 9',
    // SIGTERM lets an in-flight refresh persist; give it time before SIGKILL.
    'TimeoutStopSec=30',
    // A herd of 1000 on each listener needs ~3300 descriptors (main/service/fd-limit.ts).
    'LimitNOFILE=8192',
    'UMask=0077',
    'NoNewPrivileges=yes',
  ];
  if (plan.identity) {
    lines.push(
      '# The age identity for --secret-store file: systemd hands it over in $CREDENTIALS_DIRECTORY.',
      plan.identity.encrypted
        ? `LoadCredentialEncrypted=${IDENTITY_CREDENTIAL}:${plan.identity.path}`
        : `LoadCredential=${IDENTITY_CREDENTIAL}:${plan.identity.path}`,
    );
  }
  if (system) {
    lines.push(
      `User=${plan.systemUser}`,
      `Group=${plan.systemUser}`,
      `StateDirectory=${SYSTEM_DIR_NAME}`,
      'StateDirectoryMode=0700',
      `RuntimeDirectory=${SYSTEM_DIR_NAME}`,
      'RuntimeDirectoryMode=0700',
      '# Hardening: the broker needs its data folder, its socket folder and the network, nothing else.',
      'ProtectSystem=strict',
      `ProtectHome=${plan.needsHome ? 'read-only' : 'yes'}`,
      ...(plan.extraWritable?.length ? [`ReadWritePaths=${plan.extraWritable.join(' ')}`] : []),
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      'RestrictNamespaces=yes',
      'RestrictRealtime=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'SystemCallArchitectures=native',
      'CapabilityBoundingSet=',
    );
  }
  lines.push('', '[Install]', `WantedBy=${system ? 'multi-user.target' : 'default.target'}`, '');
  return lines.join('\n');
}

export function launchdPlist(exec: readonly string[]): string {
  const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const args = exec.map((a) => `    <string>${xml(a)}</string>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>${LAUNCHD_LABEL}</string>
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
