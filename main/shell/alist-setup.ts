/**
 * "Copy AList setup": what to put into AList / OpenList so that its PikPak storages take their
 * tokens from this app through the bridge instead of refreshing by themselves. The storage fields
 * are the bridge's own (main/bridge/alist-setup.ts); this renders them for the app, where the
 * bridge runs inside the app rather than in a daemon. Pure.
 */
import { alistSetup, proxyUrl, SECRET_PLACEHOLDER } from '../bridge/alist-setup.js';
import type { Platform } from '../pikpak/protocol.js';
import type { BridgeView } from './ipc-channels.js';

export interface SetupAccount {
  readonly name: string;
  readonly username: string;
  readonly platform: Platform;
  readonly deviceId: string;
}

export function alistSetupText(
  accounts: readonly SetupAccount[],
  bridge: BridgeView,
  configuredAddress: string,
): string {
  const address = bridge.address ?? configuredAddress;
  const lines = [
    'AList / OpenList with PikPak Token Broker',
    '',
    `1. The AList bridge runs inside this app at ${address} (${bridge.state}).`,
  ];
  if (bridge.state !== 'running') lines.push(`   ${bridge.message}`);
  lines.push('', '2. In AList: Storages → Add (or edit your PikPak storage) and set:');
  if (accounts.length === 0)
    lines.push('   (No PikPak account is signed in yet: add one from the tray first.)');
  for (const account of accounts) {
    const { storage } = alistSetup({ account, bridgeAddress: address, verifyTls: false });
    const width = Math.max(...Object.keys(storage).map((k) => k.length));
    lines.push('', `   Account "${account.name}" (${account.username}):`);
    for (const [key, value] of Object.entries(storage))
      lines.push(`     ${key.padEnd(width)}  ${value === '' ? '(empty)' : value}`);
  }
  lines.push(
    '',
    `   ${SECRET_PLACEHOLDER}: a client secret of the broker, never your PikPak password. Approve the`,
    '   program that asks for one (Clients…), or create one with: pikpak-token-broker clients add alist',
    '   A second storage of the same account gets the same values: they share the broker’s token.',
    '',
    '3. Start AList with this environment (Docker: network_mode: host; the bridge listens on loopback):',
    `     HTTPS_PROXY=${proxyUrl(address, SECRET_PLACEHOLDER)}`,
    `   The same ${SECRET_PLACEHOLDER} as the proxy password: without it the bridge answers 407 and`,
    '   lets nothing through.',
    '',
  );
  return lines.join('\n');
}
