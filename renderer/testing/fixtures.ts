/** What the windows are shown in tests and screenshots: plausible, fixed in time, no secrets. */
import { alistSetupText } from '../../main/shell/alist-setup.js';
import type { AccountView, BridgeView, StatusView } from '../../main/shell/ipc-channels.js';

export const NOW = Date.UTC(2026, 0, 15, 9, 30, 0);
const MIN = 60_000;

export const MAIN: AccountView = {
  name: 'main',
  username: 'me@example.com',
  platform: 'android',
  deviceId: 'cc884c5dd5755d8c21e8c12b2b7ce6a2',
  rememberPassword: true,
  state: 'healthy',
  health: 'ok',
  description: 'healthy, access token valid for 1h 42m',
  accessExpiresAt: NOW + 102 * MIN,
  lastRefreshAt: NOW - 18 * MIN,
  reauth: undefined,
};

export const NAS: AccountView = {
  name: 'nas',
  username: 'family@example.com',
  platform: 'web',
  deviceId: '0f3a9d2b7c41e8a65d0b9e1c2f7a4d83',
  rememberPassword: false,
  state: 'reauth-required',
  health: 'error',
  description:
    're-login needed: PikPak rejected the refresh token (it was used by another program or revoked). Sign in again.',
  accessExpiresAt: undefined,
  lastRefreshAt: NOW - 3 * 60 * MIN,
  reauth: {
    message: 'PikPak rejected the refresh token (it was used by another program or revoked). Sign in again.',
    captchaUrl: undefined,
  },
};

const BRIDGE: BridgeView = {
  state: 'running',
  address: '127.0.0.1:5288',
  message:
    "AList's HTTPS_PROXY is http://alist:<CLIENT_SECRET>@127.0.0.1:5288, with a client secret as <CLIENT_SECRET>",
};

export function statusFixture(overrides: Partial<StatusView> = {}): StatusView {
  const accounts = overrides.accounts ?? [MAIN, NAS];
  return {
    now: NOW,
    core: { state: 'running', message: 'Running' },
    health: 'error',
    headline: 'Sign-in needed: nas',
    keychain: {
      available: true,
      description: 'Secret Service (gnome-keyring, KWallet, KeePassXC)',
      problem: undefined,
    },
    accounts,
    timeline: [
      {
        id: 6,
        at: NOW - 2 * MIN,
        account: undefined,
        health: undefined,
        text: '“alist-nas” asks for access to “nas” (code K7QF)',
      },
      {
        id: 5,
        at: NOW - 18 * MIN,
        account: 'main',
        health: undefined,
        text: 'Refreshed; token valid for 2h 0m',
      },
      {
        id: 4,
        at: NOW - 41 * MIN,
        account: 'nas',
        health: 'error',
        text: 'Sign-in needed: PikPak rejected the refresh token (it was used by another program or revoked). Sign in again.',
      },
      {
        id: 3,
        at: NOW - 78 * MIN,
        account: 'main',
        health: undefined,
        text: 'Refreshed; token valid for 2h 0m',
      },
      {
        id: 2,
        at: NOW - 80 * MIN,
        account: undefined,
        health: undefined,
        text: 'Client “alist” approved for “main”',
      },
      { id: 1, at: NOW - 95 * MIN, account: undefined, health: undefined, text: 'Broker started' },
    ],
    clients: [
      { name: 'alist', accounts: ['main'], createdAt: NOW - 80 * MIN, lastUsedAt: NOW - 3 * MIN },
      { name: 'backup-script', accounts: ['*'], createdAt: NOW - 9 * 24 * 60 * MIN, lastUsedAt: undefined },
    ],
    requests: [
      {
        id: '5f2c9a01b3d4',
        name: 'alist-nas',
        account: 'nas',
        code: 'K7QF',
        requestedAt: NOW - 2 * MIN,
        expiresAt: NOW + 8 * MIN,
      },
    ],
    alistSetup: alistSetupText(accounts, BRIDGE, '127.0.0.1:5288'),
    bridge: BRIDGE,
    settings: { startAtLogin: true, notifications: true },
    ...overrides,
  };
}

/** Everything fine: one healthy account, nobody asking. */
export function healthyFixture(): StatusView {
  return statusFixture({
    accounts: [MAIN],
    health: 'ok',
    headline: 'Token healthy',
    requests: [],
    timeline: statusFixture().timeline.filter((e) => e.account !== 'nas' && e.id !== 6),
  });
}
