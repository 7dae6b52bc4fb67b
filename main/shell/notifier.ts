/**
 * Desktop notifications, as a pure function of keeper transitions plus a little memory: one
 * notification per episode. An episode starts when an account enters `reauth-required` (PikPak
 * rejected the refresh token, or an automatic re-login failed) and ends when it is healthy again
 * (a quiet confirmation, only if the user was told about the problem) or signed out.
 * Re-entering `reauth-required` inside an episode (a failed re-login) says nothing new.
 *
 * Clicking the notification opens the login window for that account. On Windows a click in the
 * Action Center may come after the app restarted, when no notification object of ours is left:
 * `Notification.handleActivation` routes it (to the login window of the account that needs it,
 * else the status window).
 *
 * Where notifications cannot be shown the tray's icon, tooltip and "Re-login…" item carry the
 * news alone. `Notification.isSupported()` does not tell: on Linux it only says libnotify
 * could be loaded, and is true with no notification daemon running; such a notification fails
 * when shown (Electron emits `failed`), and that is what is logged, once.
 */
import type { KeeperState } from '../core/keeper-state.js';
import type { Logger } from '../core/ports.js';
import type { NotificationConstructor, NotificationLike } from './electron-types.js';

export interface Notice {
  readonly kind: 'reauth' | 'recovered';
  readonly account: string;
  readonly title: string;
  readonly body: string;
  /** A recovery notice makes no sound. */
  readonly silent: boolean;
}

export interface Episode {
  /** Whether the user was shown the problem (so recovery deserves a word). */
  readonly notified: boolean;
}

export interface Transition {
  readonly account: string;
  readonly state: KeeperState;
  readonly previous: KeeperState;
}

export interface NoticeDecision {
  readonly notice: Notice | undefined;
  /** The account's episode after this transition; undefined when none is open. */
  readonly episode: Episode | undefined;
}

/**
 * What to show for one transition, given the account's open episode (if any) and whether
 * notifications are on. Pure.
 */
export function decideNotice(
  transition: Transition,
  episode: Episode | undefined,
  enabled: boolean,
): NoticeDecision {
  const { account, state } = transition;
  switch (state.type) {
    case 'reauth-required': {
      if (episode) return { notice: undefined, episode };
      const notice: Notice = {
        kind: 'reauth',
        account,
        title: `PikPak account “${account}” needs a new sign-in`,
        body: `${state.message} Click here to sign in again.`,
        silent: false,
      };
      return enabled
        ? { notice, episode: { notified: true } }
        : { notice: undefined, episode: { notified: false } };
    }
    case 'healthy': {
      if (!episode) return { notice: undefined, episode: undefined };
      if (!episode.notified || !enabled) return { notice: undefined, episode: undefined };
      return {
        notice: {
          kind: 'recovered',
          account,
          title: `PikPak account “${account}” works again`,
          body: 'Signed in; its token is kept fresh again.',
          silent: true,
        },
        episode: undefined,
      };
    }
    case 'signed-out':
      return { notice: undefined, episode: undefined };
    case 'signing-in':
    case 'refreshing':
    case 'retrying':
      return { notice: undefined, episode };
  }
}

export interface NotifierDeps {
  readonly Notification: NotificationConstructor;
  readonly platform?: NodeJS.Platform;
  readonly enabled: () => boolean;
  readonly openLogin: (account: string) => void;
  /** Windows: a click in the Action Center, maybe on a notification from before a restart. */
  readonly onActivation?: () => void;
  readonly log: Logger;
  /** The app icon shown in notifications (Linux, Windows). */
  readonly icon?: string | undefined;
}

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #episodes = new Map<string, Episode>();
  /**
   * Notifications on screen. Electron drops the click handler of a notification object that was
   * garbage-collected (electron/electron#16922), so each is referenced until it closes.
   */
  readonly #live = new Set<NotificationLike>();
  #unsupportedLogged = false;
  #failureLogged = false;
  /** Every notice decided and shown, for tests and the log. */
  readonly shown: Notice[] = [];

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    const { Notification, onActivation } = deps;
    if (deps.platform === 'win32' && onActivation && Notification.handleActivation)
      Notification.handleActivation((details) => {
        if (details.type === 'click') onActivation();
      });
  }

  onTransition(transition: Transition): void {
    const enabled = this.#deps.enabled();
    const decision = decideNotice(transition, this.#episodes.get(transition.account), enabled);
    if (decision.episode) this.#episodes.set(transition.account, decision.episode);
    else this.#episodes.delete(transition.account);
    if (decision.notice) this.#show(decision.notice);
  }

  /** Forgets an account (logged out or removed). */
  forget(account: string): void {
    this.#episodes.delete(account);
  }

  #show(notice: Notice): void {
    const { Notification, log } = this.#deps;
    if (!Notification.isSupported()) {
      if (!this.#unsupportedLogged)
        log.warn({}, 'desktop notifications are not available here; the tray icon shows account health');
      this.#unsupportedLogged = true;
      return;
    }
    const notification = new Notification({
      title: notice.title,
      body: notice.body,
      silent: notice.silent,
      ...(this.#deps.icon ? { icon: this.#deps.icon } : {}),
      // Linux: a problem stays until dismissed; a recovery is low priority.
      urgency: notice.kind === 'reauth' ? 'critical' : 'low',
      timeoutType: notice.kind === 'reauth' ? 'never' : 'default',
    });
    this.#live.add(notification);
    const release = (): void => void this.#live.delete(notification);
    notification.on('close', release);
    notification.on('failed', (_event, error) => {
      release();
      if (this.#failureLogged) return;
      this.#failureLogged = true;
      log.warn({ error }, 'a notification could not be shown; the tray icon shows account health');
    });
    if (notice.kind === 'reauth')
      notification.on('click', () => {
        release();
        this.#deps.openLogin(notice.account);
      });
    notification.show();
    this.shown.push(notice);
    log.info({ account: notice.account, kind: notice.kind }, notice.title);
  }
}
