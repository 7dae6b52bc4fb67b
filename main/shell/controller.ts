/**
 * The shell's one piece of state and its actions. It listens to the core (broker, client
 * requests, bridge), keeps the timeline, builds what the tray and the windows show, and performs
 * what the user asks from the tray menu or a window. It says `changed` when anything shown may
 * have changed; app.ts passes that on to the tray and the windows.
 */
import { EventEmitter } from 'node:events';
import type { AccountStateEvent } from '../core/broker.js';
import type { Logger } from '../core/ports.js';
import { Secret } from '../core/secret.js';
import type { AppSettingsStore } from './app-settings.js';
import type { ShellCore } from './core-runtime.js';
import type { ClipboardModule } from './electron-types.js';
import type {
  ActionOutcome,
  CaptchaOutcome,
  ClientRequestView,
  CoreState,
  LoginForm,
  LoginOutcome,
  StatusView,
  WindowKind,
} from './ipc-channels.js';
import { loginFailure } from './login-outcome.js';
import { buildStatusView } from './status-view.js';
import { describeKeychain, describeRotation, describeTransition, Timeline } from './timeline.js';
import type { TrayAccount, TrayAction } from './tray-view.js';
import { formatDuration, signedOut } from '../core/keeper-state.js';

export interface ControllerDeps {
  readonly settings: AppSettingsStore;
  readonly now: () => number;
  readonly log: Logger;
  readonly clipboard: ClipboardModule;
  readonly windows: {
    open(kind: WindowKind, query?: Record<string, string>): unknown;
    close(kind: WindowKind): void;
  };
  readonly captcha: { solve(url: string): Promise<CaptchaOutcome> };
  readonly setStartAtLogin: (enabled: boolean) => Promise<void>;
  readonly quit: () => void;
}

export interface ControllerEvents {
  changed: [];
  /** An account changed state (the notifier listens). */
  transition: [AccountStateEvent];
}

const ok = (message: string): ActionOutcome => ({ ok: true, message });
const failed = (message: string): ActionOutcome => ({ ok: false, message });

export class ShellController extends EventEmitter<ControllerEvents> {
  readonly timeline = new Timeline();
  readonly #deps: ControllerDeps;
  #core: ShellCore | undefined;
  #coreState: { state: CoreState; message: string } = { state: 'starting', message: 'Starting…' };

  constructor(deps: ControllerDeps) {
    super();
    this.#deps = deps;
    deps.settings.onChange(() => this.emit('changed'));
  }

  get core(): ShellCore | undefined {
    return this.#core;
  }

  get coreState(): { state: CoreState; message: string } {
    return this.#coreState;
  }

  /** Connects a started core: its events feed the timeline, the tray and the windows. */
  attach(core: ShellCore): void {
    this.#core = core;
    this.#coreState = { state: 'running', message: 'Running' };
    const { broker, requests } = core;
    const now = this.#deps.now;
    broker.on('account-state', (event) => {
      this.timeline.add(now(), describeTransition(event, now()));
      this.emit('transition', event);
      this.emit('changed');
    });
    broker.on('rotated', (event) => {
      this.timeline.add(event.at, describeRotation(event));
      this.emit('changed');
    });
    broker.on('keychain-status', (status) => {
      this.timeline.add(now(), describeKeychain(status));
      this.emit('changed');
    });
    broker.on('accounts-changed', () => this.emit('changed'));
    const announced = new Set<string>();
    requests.on('changed', () => {
      for (const request of requests.pending()) {
        if (announced.has(request.id)) continue;
        announced.add(request.id);
        this.timeline.add(now(), {
          account: undefined,
          health: undefined,
          text: `“${request.name}” asks for access to “${request.account}” (code ${request.code})`,
        });
      }
      this.emit('changed');
    });
    requests.on('decided', (decision) => {
      const texts = {
        approved: `Client “${decision.name}” approved for “${decision.account}”`,
        denied: `Client “${decision.name}” denied access to “${decision.account}”`,
        expired: `Request of “${decision.name}” for “${decision.account}” expired`,
        uncollected: `Client “${decision.name}” never collected its secret; revoked again`,
      };
      this.timeline.add(now(), { account: undefined, health: undefined, text: texts[decision.decision] });
      this.emit('changed');
    });
    this.timeline.add(now(), { account: undefined, health: undefined, text: 'Broker started' });
    // The core settles its accounts before it is attached: a sign-in needed since start-up (a
    // token lost in a crash, revoked while the app was closed) must still reach the notifier.
    for (const name of broker.accountNames()) {
      const keeper = broker.keeper(name);
      if (keeper.state.type === 'reauth-required')
        this.emit('transition', {
          account: name,
          state: keeper.state,
          previous: signedOut(),
          health: keeper.health(),
        });
    }
    this.emit('changed');
  }

  /** The core could not start (lock held, corrupt settings, …). */
  fail(message: string): void {
    this.#coreState = { state: 'failed', message };
    this.emit('changed');
  }

  status(): StatusView {
    const core = this.#core;
    return buildStatusView({
      now: this.#deps.now(),
      core: this.#coreState,
      broker: core?.broker.status(),
      timeline: this.timeline.entries(),
      clients: core?.clients.list() ?? [],
      requests: core?.requests.pending() ?? [],
      bridge: core?.bridge.view() ?? {
        state: 'off',
        address: undefined,
        message: 'The broker is not running.',
      },
      settings: this.#deps.settings.get(),
    });
  }

  trayAccounts(): TrayAccount[] {
    return (this.#core?.broker.accounts() ?? []).map((a) => ({
      name: a.name,
      username: a.username,
      state: a.state,
    }));
  }

  pendingRequests(): ClientRequestView[] {
    return this.#core?.requests.pending() ?? [];
  }

  // ── actions ─────────────────────────────────────────────────────────────────────────────

  async login(form: LoginForm): Promise<LoginOutcome> {
    const core = this.#core;
    if (!core) return { ok: false, code: 'not_ready', message: 'The broker is not running yet.' };
    try {
      const view = await core.broker.login({
        account: form.account,
        username: form.username,
        password: new Secret(form.password),
        platform: form.platform,
        rememberPassword: form.rememberPassword,
        captchaToken: form.captchaToken,
      });
      return {
        ok: true,
        account: view.account,
        expiresAt: view.expiresAt,
        message: `Signed in. The access token is valid for ${formatDuration(view.expiresAt - this.#deps.now())}; the broker keeps it fresh from now on.`,
      };
    } catch (error) {
      const outcome = loginFailure(error);
      this.#deps.log.warn({ account: form.account, code: outcome.code }, 'sign-in from the app failed');
      return outcome;
    }
  }

  solveCaptcha(url: string): Promise<CaptchaOutcome> {
    return this.#deps.captcha.solve(url);
  }

  async refreshNow(account: string): Promise<ActionOutcome> {
    const core = this.#core;
    if (!core) return failed('The broker is not running.');
    try {
      const view = await core.broker.keeper(account).refreshNow();
      return ok(
        `Refreshed “${account}”; token valid for ${formatDuration(view.expiresAt - this.#deps.now())}.`,
      );
    } catch (error) {
      return failed(`Could not refresh “${account}”: ${(error as Error).message}`);
    }
  }

  async approve(id: string): Promise<ActionOutcome> {
    const core = this.#core;
    if (!core) return failed('The broker is not running.');
    try {
      const request = await core.requests.approve(id);
      return ok(`“${request.name}” may now use “${request.account}”. Its secret goes to it once, directly.`);
    } catch (error) {
      return failed((error as Error).message);
    }
  }

  deny(id: string): ActionOutcome {
    const core = this.#core;
    if (!core) return failed('The broker is not running.');
    try {
      const request = core.requests.deny(id);
      return ok(`Denied “${request.name}”.`);
    } catch (error) {
      return failed((error as Error).message);
    }
  }

  async revoke(name: string): Promise<ActionOutcome> {
    const core = this.#core;
    if (!core) return failed('The broker is not running.');
    try {
      await core.clients.revoke(name);
      this.timeline.add(this.#deps.now(), {
        account: undefined,
        health: undefined,
        text: `Client “${name}” revoked`,
      });
      this.emit('changed');
      return ok(`“${name}” can no longer get tokens.`);
    } catch (error) {
      return failed((error as Error).message);
    }
  }

  copyAlistSetup(): ActionOutcome {
    this.#deps.clipboard.writeText(this.status().alistSetup);
    return ok('The AList setup is on the clipboard.');
  }

  async setStartAtLogin(enabled: boolean): Promise<ActionOutcome> {
    try {
      await this.#deps.setStartAtLogin(enabled);
      this.#deps.settings.set('startAtLogin', enabled);
      return ok(enabled ? 'Starts at login (quietly, in the tray).' : 'No longer starts at login.');
    } catch (error) {
      this.#deps.log.warn({ error: (error as Error).message }, 'could not change start at login');
      return failed(`Could not change start at login: ${(error as Error).message}`);
    }
  }

  setNotifications(enabled: boolean): ActionOutcome {
    this.#deps.settings.set('notifications', enabled);
    return ok(enabled ? 'Notifications on.' : 'Notifications off; the tray icon still shows problems.');
  }

  openLogin(account: string | null): ActionOutcome {
    this.#deps.windows.open('login', account ? { account } : {});
    return ok('');
  }

  openStatus(): ActionOutcome {
    this.#deps.windows.open('status');
    return ok('');
  }

  /**
   * A notification was clicked with no notification object to tell which (Windows Action Center,
   * after a restart): the one account that needs a sign-in gets its login window, else the status
   * window shows them all.
   */
  openForNotification(): ActionOutcome {
    const waiting = this.trayAccounts().filter((a) => a.state.type === 'reauth-required');
    return waiting.length === 1 ? this.openLogin(waiting[0]!.name) : this.openStatus();
  }

  openClients(requestId?: string): ActionOutcome {
    this.#deps.windows.open('clients', requestId ? { request: requestId } : {});
    return ok('');
  }

  /** What a tray menu item does. */
  onTrayAction(action: TrayAction): void {
    const report = (outcome: ActionOutcome | Promise<ActionOutcome>): void =>
      void Promise.resolve(outcome).then((result) => {
        if (!result.ok) this.#deps.log.warn({ action: action.type }, result.message);
      });
    switch (action.type) {
      case 'relogin':
        report(this.openLogin(action.account));
        return;
      case 'add-account':
        report(this.openLogin(null));
        return;
      case 'refresh':
        report(this.refreshNow(action.account));
        return;
      case 'review-request':
        report(this.openClients(action.id));
        return;
      case 'copy-alist-setup':
        report(this.copyAlistSetup());
        return;
      case 'open-clients':
        report(this.openClients());
        return;
      case 'open-status':
        report(this.openStatus());
        return;
      case 'toggle-start-at-login':
        report(this.setStartAtLogin(!this.#deps.settings.get().startAtLogin));
        return;
      case 'quit':
        this.#deps.quit();
        return;
    }
  }
}
