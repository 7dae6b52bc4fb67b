/**
 * The one registry of IPC between the windows and the main process, typed both ways.
 *
 * - `RequestTypes`: what a page may ask (renderer → main, answered), one method per call.
 * - `EventTypes`: what main pushes to pages (main → renderer).
 * - `REQUESTS` / `EVENTS`: each call's channel name and the windows allowed to use it.
 *
 * Main registers a handler for every request (ipc-main.ts; the compiler insists on all of them)
 * and refuses calls from any sender that is not one of our windows of an allowed kind. The
 * preload exposes exactly the calls its window may make (`apiManifest`), as `window.broker`,
 * typed `BrokerApi`. This file has no runtime imports: pages import its types, and the manifest
 * reaches the sandboxed preload as data (see windows.ts).
 *
 * Everything crossing IPC is plain data without secrets, except the password of `login`, which
 * travels once from the login page to the broker.
 */
import type { Health, KeeperStateType } from '../core/keeper-state.js';
import type { Platform } from '../pikpak/protocol.js';

export type WindowKind = 'login' | 'status' | 'clients';
export const WINDOW_KINDS: readonly WindowKind[] = ['login', 'status', 'clients'];

// ── data shapes ─────────────────────────────────────────────────────────────────────────────

export interface AccountView {
  readonly name: string;
  readonly username: string;
  readonly platform: Platform;
  readonly deviceId: string;
  readonly rememberPassword: boolean;
  readonly state: KeeperStateType;
  readonly health: Health;
  /** The state in words (describeState). */
  readonly description: string;
  readonly accessExpiresAt: number | undefined;
  readonly lastRefreshAt: number | undefined;
  /** Set when a new sign-in is needed: why, and the captcha page PikPak asked for, if any. */
  readonly reauth: { readonly message: string; readonly captchaUrl: string | undefined } | undefined;
}

export interface TimelineEntry {
  readonly id: number;
  readonly at: number;
  readonly account: string | undefined;
  /** The health this event left the account in, when it is about one. */
  readonly health: Health | undefined;
  readonly text: string;
}

export interface ClientView {
  readonly name: string;
  readonly accounts: readonly string[];
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
}

/** A consumer without a secret asking for one: the service's own view of a request. */
import type { ClientRequestView } from '../service/client-requests.js';
export type { ClientRequestView };

export type BridgeState = 'off' | 'starting' | 'running' | 'failed';

export interface BridgeView {
  readonly state: BridgeState;
  /** `127.0.0.1:PORT` when running. */
  readonly address: string | undefined;
  readonly message: string;
}

export type CoreState = 'starting' | 'running' | 'failed';

export interface StatusView {
  readonly now: number;
  readonly core: { readonly state: CoreState; readonly message: string };
  readonly health: Health;
  /** One line: the tray's headline. */
  readonly headline: string;
  readonly keychain: {
    readonly available: boolean;
    readonly description: string;
    readonly problem: string | undefined;
  };
  readonly accounts: readonly AccountView[];
  readonly timeline: readonly TimelineEntry[];
  readonly clients: readonly ClientView[];
  readonly requests: readonly ClientRequestView[];
  readonly alistSetup: string;
  readonly bridge: BridgeView;
  readonly settings: { readonly startAtLogin: boolean; readonly notifications: boolean };
}

export interface LoginForm {
  readonly account: string;
  readonly username: string;
  readonly password: string;
  readonly platform: Platform;
  readonly rememberPassword: boolean;
  readonly captchaToken?: string | undefined;
}

export type LoginFailureCode =
  | 'captcha_required'
  | 'rejected'
  | 'invalid'
  | 'conflict'
  | 'unavailable'
  | 'keychain'
  | 'not_ready'
  | 'failed';

export type LoginOutcome =
  | { readonly ok: true; readonly account: string; readonly expiresAt: number; readonly message: string }
  | {
      readonly ok: false;
      readonly code: LoginFailureCode;
      readonly message: string;
      /** The challenge page, for `captcha_required`. */
      readonly url?: string | undefined;
    };

export type CaptchaOutcome =
  | { readonly ok: true; readonly token: string }
  | { readonly ok: false; readonly reason: 'closed' | 'timeout' | 'refused'; readonly message: string };

export type ActionOutcome =
  { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

// ── the calls ───────────────────────────────────────────────────────────────────────────────

/** renderer → main; each returns a Promise of its return type in the page. */
export interface RequestTypes {
  getStatus(): StatusView;
  login(form: LoginForm): LoginOutcome;
  /** Opens PikPak's challenge page in a sandboxed window and resolves with its captcha token. */
  solveCaptcha(url: string): CaptchaOutcome;
  refreshNow(account: string): ActionOutcome;
  openLogin(account: string | null): ActionOutcome;
  openClients(): ActionOutcome;
  approveClient(requestId: string): ActionOutcome;
  denyClient(requestId: string): ActionOutcome;
  revokeClient(name: string): ActionOutcome;
  copyAlistSetup(): ActionOutcome;
  setStartAtLogin(enabled: boolean): ActionOutcome;
  setNotifications(enabled: boolean): ActionOutcome;
  closeWindow(): ActionOutcome;
}

/** main → renderer. */
export interface EventTypes {
  onStatus: StatusView;
}

export type RequestName = keyof RequestTypes;
export type EventName = keyof EventTypes;
export type RequestArgs<K extends RequestName> = Parameters<RequestTypes[K]>;
export type RequestResult<K extends RequestName> = ReturnType<RequestTypes[K]>;

interface Route {
  readonly channel: string;
  readonly windows: readonly WindowKind[];
}

const ALL: readonly WindowKind[] = WINDOW_KINDS;

export const REQUESTS = {
  getStatus: { channel: 'pkb:status:get', windows: ALL },
  login: { channel: 'pkb:login:submit', windows: ['login'] },
  solveCaptcha: { channel: 'pkb:login:captcha', windows: ['login'] },
  refreshNow: { channel: 'pkb:account:refresh', windows: ['status'] },
  openLogin: { channel: 'pkb:window:login', windows: ['status'] },
  openClients: { channel: 'pkb:window:clients', windows: ['status'] },
  approveClient: { channel: 'pkb:client:approve', windows: ['status', 'clients'] },
  denyClient: { channel: 'pkb:client:deny', windows: ['status', 'clients'] },
  revokeClient: { channel: 'pkb:client:revoke', windows: ['status'] },
  copyAlistSetup: { channel: 'pkb:alist:copy-setup', windows: ['status'] },
  setStartAtLogin: { channel: 'pkb:settings:start-at-login', windows: ['status'] },
  setNotifications: { channel: 'pkb:settings:notifications', windows: ['status'] },
  closeWindow: { channel: 'pkb:window:close', windows: ALL },
} as const satisfies { readonly [K in RequestName]: Route };

export const EVENTS = {
  onStatus: { channel: 'pkb:status:changed', windows: ALL },
} as const satisfies { readonly [K in EventName]: Route };

/** What `window.broker` is in a page (the preload builds it from `apiManifest`). */
export type BrokerApi = {
  readonly [K in RequestName]: (...args: RequestArgs<K>) => Promise<RequestResult<K>>;
} & {
  /** Subscribes; returns the function that unsubscribes. */
  readonly [K in EventName]: (listener: (payload: EventTypes[K]) => void) => () => void;
};

/** The calls a window of `kind` may make: method name → channel. Handed to its preload. */
export interface ApiManifest {
  readonly requests: Readonly<Partial<Record<RequestName, string>>>;
  readonly events: Readonly<Partial<Record<EventName, string>>>;
}

export function apiManifest(kind: WindowKind): ApiManifest {
  const pick = (table: Readonly<Record<string, Route>>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(table)
        .filter(([, route]) => route.windows.includes(kind))
        .map(([name, route]) => [name, route.channel]),
    );
  return { requests: pick(REQUESTS), events: pick(EVENTS) };
}

/** The command-line switch that carries the manifest to the preload (see renderer/preload.cts). */
export const MANIFEST_SWITCH = '--pkb-api=';

export function manifestArgument(kind: WindowKind): string {
  return MANIFEST_SWITCH + encodeURIComponent(JSON.stringify(apiManifest(kind)));
}
