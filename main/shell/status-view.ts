/** What the windows are shown: plain data built from the broker's status and the shell's own state. Pure. */
import type { BrokerStatus } from '../core/broker.js';
import type { Client } from '../service/client-registry.js';
import { alistSetupText } from './alist-setup.js';
import type { AppSettings } from './app-settings.js';
import type {
  AccountView,
  BridgeView,
  ClientRequestView,
  CoreState,
  StatusView,
  TimelineEntry,
} from './ipc-channels.js';
import { trayView } from './tray-view.js';

export interface StatusInput {
  readonly now: number;
  readonly core: { readonly state: CoreState; readonly message: string };
  readonly broker: BrokerStatus | undefined;
  readonly timeline: readonly TimelineEntry[];
  readonly clients: readonly Client[];
  readonly requests: readonly ClientRequestView[];
  readonly bridge: BridgeView;
  readonly settings: AppSettings;
}

export function buildStatusView(input: StatusInput): StatusView {
  const summaries = input.broker?.accounts ?? [];
  const accounts: AccountView[] = summaries.map((a) => ({
    name: a.name,
    username: a.username,
    platform: a.platform,
    deviceId: a.deviceId,
    rememberPassword: a.rememberPassword,
    state: a.state.type,
    health: a.health,
    description: a.description,
    accessExpiresAt: a.accessExpiresAt,
    lastRefreshAt: a.lastRefreshAt,
    reauth:
      a.state.type === 'reauth-required'
        ? { message: a.state.message, captchaUrl: a.state.captchaUrl }
        : undefined,
  }));
  const tray = trayView({
    now: input.now,
    platform: 'linux',
    core: input.core,
    accounts: summaries.map((a) => ({ name: a.name, username: a.username, state: a.state })),
    requests: input.requests,
    startAtLogin: input.settings.startAtLogin,
    formatTime: () => '',
  });
  return {
    now: input.now,
    core: input.core,
    health: tray.health,
    headline: tray.headline,
    keychain: input.broker
      ? {
          available: input.broker.keychain.available,
          description: input.broker.keychain.description,
          problem: input.broker.keychain.problem,
        }
      : { available: false, description: 'not opened yet', problem: undefined },
    accounts,
    timeline: input.timeline,
    clients: input.clients.map((c) => ({
      name: c.name,
      accounts: [...c.accounts],
      createdAt: c.createdAt,
      lastUsedAt: c.lastUsedAt,
    })),
    requests: input.requests,
    alistSetup: alistSetupText(summaries, input.bridge, `127.0.0.1:${input.settings.bridgePort}`),
    bridge: input.bridge,
    settings: { startAtLogin: input.settings.startAtLogin, notifications: input.settings.notifications },
  };
}
