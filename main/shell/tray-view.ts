/**
 * The tray as a pure function of the keepers' states: health (the icon), tooltip and menu. No
 * Electron here; tray-service.ts turns the menu entries into an Electron menu.
 *
 * The menu always carries the health line, "Open status" and "Quit": on Linux a click on the
 * icon itself is not reliably delivered, so everything must be reachable from the menu.
 */
import {
  formatDuration,
  healthOf,
  worstHealth,
  type Health,
  type KeeperState,
  type ReauthReason,
} from '../core/keeper-state.js';
import type { ClientRequestView, CoreState } from './ipc-channels.js';

export const PRODUCT_NAME = 'PikPak Token Broker';

export interface TrayAccount {
  readonly name: string;
  readonly username: string;
  readonly state: KeeperState;
}

export interface TrayInput {
  readonly now: number;
  readonly platform: NodeJS.Platform;
  readonly core: { readonly state: CoreState; readonly message: string };
  readonly accounts: readonly TrayAccount[];
  readonly requests: readonly ClientRequestView[];
  readonly startAtLogin: boolean;
  /** Clock time for people ("19:27"); injected so tests do not depend on the machine's zone. */
  readonly formatTime: (ms: number) => string;
}

export type TrayAction =
  | { readonly type: 'relogin'; readonly account: string }
  | { readonly type: 'add-account' }
  | { readonly type: 'refresh'; readonly account: string }
  | { readonly type: 'review-request'; readonly id: string }
  | { readonly type: 'copy-alist-setup' }
  | { readonly type: 'open-clients' }
  | { readonly type: 'open-status' }
  | { readonly type: 'toggle-start-at-login' }
  | { readonly type: 'quit' };

export type TrayMenuEntry =
  | { readonly kind: 'item'; readonly label: string; readonly enabled: boolean; readonly action?: TrayAction }
  | {
      readonly kind: 'checkbox';
      readonly label: string;
      readonly checked: boolean;
      readonly action: TrayAction;
    }
  | { readonly kind: 'submenu'; readonly label: string; readonly entries: readonly TrayMenuEntry[] }
  | { readonly kind: 'separator' };

export interface TrayView {
  readonly health: Health;
  readonly headline: string;
  readonly tooltip: string;
  readonly menu: readonly TrayMenuEntry[];
}

/** Windows cuts tray tooltips at 127 characters (NOTIFYICONDATA.szTip). */
const WINDOWS_TOOLTIP_MAX = 127;

export function trayHealth(input: Pick<TrayInput, 'core' | 'accounts' | 'now'>): Health {
  switch (input.core.state) {
    case 'starting':
      return 'busy';
    case 'failed':
      return 'error';
    case 'running':
      return input.accounts.length === 0
        ? 'idle'
        : worstHealth(input.accounts.map((a) => healthOf(a.state, input.now)));
  }
}

export function trayView(input: TrayInput): TrayView {
  const health = trayHealth(input);
  const headline = headlineOf(input, health);
  return { health, headline, tooltip: tooltipOf(input, headline), menu: menuOf(input, headline) };
}

function headlineOf(input: TrayInput, health: Health): string {
  switch (input.core.state) {
    case 'starting':
      return 'Starting…';
    case 'failed':
      return `Not running: ${input.core.message}`;
    case 'running':
      break;
  }
  const names = (pick: (h: Health) => boolean): string =>
    input.accounts
      .filter((a) => pick(healthOf(a.state, input.now)))
      .map((a) => a.name)
      .join(', ');
  switch (health) {
    case 'idle':
      return input.accounts.length === 0 ? 'No PikPak account yet' : 'Signed out';
    case 'ok':
      return input.accounts.length === 1 ? 'Token healthy' : 'All tokens healthy';
    case 'busy':
      return 'Refreshing…';
    case 'warn':
      return `Attention: ${names((h) => h === 'warn')}`;
    case 'error':
      return input.accounts.some((a) => a.state.type === 'reauth-required')
        ? `Sign-in needed: ${input.accounts
            .filter((a) => a.state.type === 'reauth-required')
            .map((a) => a.name)
            .join(', ')}`
        : `No token: ${names((h) => h === 'error')}`;
  }
}

/** One account in a few words, for the tooltip and the menu. */
export function accountLine(account: TrayAccount, now: number, formatTime: (ms: number) => string): string {
  const { state } = account;
  const expiry = (at: number | undefined): string =>
    at === undefined
      ? ''
      : at > now
        ? ` — token expires in ${formatDuration(at - now)} (${formatTime(at)})`
        : ' — token expired';
  switch (state.type) {
    case 'signed-out':
      return `${account.name}: signed out`;
    case 'signing-in':
      return `${account.name}: signing in…`;
    case 'healthy':
      return `${account.name}: healthy${expiry(state.accessExpiresAt)}${state.unsaved ? ' (keychain write pending)' : ''}`;
    case 'refreshing':
      return `${account.name}: refreshing…${expiry(state.accessExpiresAt)}`;
    case 'retrying':
      return `${account.name}: PikPak unreachable, retry in ${formatDuration(state.nextAttemptAt - now)}${expiry(
        state.accessExpiresAt,
      )}`;
    case 'reauth-required':
      return `${account.name}: sign-in needed — ${reauthShort(state.reason)}`;
  }
}

function reauthShort(reason: ReauthReason): string {
  switch (reason) {
    case 'invalid-grant':
      return 'PikPak rejected the refresh token';
    case 'rotated-during-crash':
      return 'the new token was lost in a crash';
    case 'unsaved-when-stopped':
      return 'the newest token was never saved (keychain locked)';
    case 'no-refresh-token':
      return 'no token stored';
    case 'sign-in-failed':
      return 'automatic sign-in failed';
  }
}

function tooltipOf(input: TrayInput, headline: string): string {
  const lines = [
    `${PRODUCT_NAME}: ${headline}`,
    ...(input.core.state === 'running'
      ? input.accounts.map((a) => accountLine(a, input.now, input.formatTime))
      : []),
    ...(input.requests.length ? [`${input.requests.length} program(s) ask for access — see the menu`] : []),
  ];
  const text = lines.join('\n');
  if (input.platform !== 'win32' || text.length <= WINDOWS_TOOLTIP_MAX) return text;
  return `${text.slice(0, WINDOWS_TOOLTIP_MAX - 1)}…`;
}

/** Menu labels treat `&` as an accelerator marker on Windows and Linux. */
function label(text: string): string {
  return text.replace(/&/g, '&&');
}

function menuOf(input: TrayInput, headline: string): TrayMenuEntry[] {
  const running = input.core.state === 'running';
  const entries: TrayMenuEntry[] = [
    { kind: 'item', label: label(`${PRODUCT_NAME} — ${headline}`), enabled: false },
  ];
  if (running)
    for (const account of input.accounts)
      entries.push({
        kind: 'item',
        label: label(accountLine(account, input.now, input.formatTime)),
        enabled: false,
      });
  entries.push({ kind: 'separator' });

  if (running) {
    for (const account of input.accounts)
      if (account.state.type === 'reauth-required')
        entries.push({
          kind: 'item',
          label: label(`Re-login “${account.name}”…`),
          enabled: true,
          action: { type: 'relogin', account: account.name },
        });
    entries.push({ kind: 'item', label: 'Add account…', enabled: true, action: { type: 'add-account' } });
    entries.push(refreshEntry(input.accounts));
    entries.push({ kind: 'separator' });
    for (const request of input.requests)
      entries.push({
        kind: 'item',
        label: label(`“${request.name}” asks for “${request.account}” (code ${request.code})…`),
        enabled: true,
        action: { type: 'review-request', id: request.id },
      });
  }
  entries.push(
    { kind: 'item', label: 'Copy AList setup', enabled: running, action: { type: 'copy-alist-setup' } },
    { kind: 'item', label: 'Clients…', enabled: running, action: { type: 'open-clients' } },
    { kind: 'item', label: 'Open status', enabled: true, action: { type: 'open-status' } },
    { kind: 'separator' },
    {
      kind: 'checkbox',
      label: 'Start at login',
      checked: input.startAtLogin,
      action: { type: 'toggle-start-at-login' },
    },
    { kind: 'item', label: 'Quit', enabled: true, action: { type: 'quit' } },
  );
  return entries;
}

/** A refresh is possible when the keeper holds a refresh token: healthy or retrying. */
function canRefresh(state: KeeperState): boolean {
  switch (state.type) {
    case 'healthy':
    case 'retrying':
      return true;
    case 'signed-out':
    case 'signing-in':
    case 'refreshing':
    case 'reauth-required':
      return false;
  }
}

function refreshEntry(accounts: readonly TrayAccount[]): TrayMenuEntry {
  if (accounts.length <= 1) {
    const only = accounts[0];
    return {
      kind: 'item',
      label: 'Refresh now',
      enabled: only !== undefined && canRefresh(only.state),
      ...(only ? { action: { type: 'refresh', account: only.name } as const } : {}),
    };
  }
  return {
    kind: 'submenu',
    label: 'Refresh now',
    entries: accounts.map((a) => ({
      kind: 'item',
      label: label(a.name),
      enabled: canRefresh(a.state),
      action: { type: 'refresh', account: a.name },
    })),
  };
}
