/**
 * PikPak's captcha challenge, solved by a human in a window of its own. The challenge page ends by
 * sending the browser to `xlaccsdk01://xbase.cloud/callback?…&captcha_token=…`, an address meant
 * for PikPak's native apps; we catch that navigation, take the token, close the window and hand
 * the token back so the sign-in can continue.
 *
 * The window is sandboxed, has no preload (the page gets no API of ours), lives in an in-memory
 * partition of its own (no cookies shared with anything, none kept after the app quits), and
 * refuses every permission prompt. It may browse https pages (PikPak's challenge can move between
 * its own pages) and loopback http (the local PikPak emulator); everything else is blocked.
 */
import type { Logger } from '../core/ports.js';
import type {
  BrowserWindowConstructor,
  BrowserWindowLike,
  SessionModule,
  ShellModule,
} from './electron-types.js';
import type { CaptchaOutcome } from './ipc-channels.js';
import { openExternalIfSafe } from './windows.js';

export const CAPTCHA_SCHEME = 'xlaccsdk01:';
export const CAPTCHA_PARTITION = 'pikpak-captcha';
export const CAPTCHA_TIMEOUT_MS = 10 * 60_000;

/** The captcha token of a `xlaccsdk01://…` address; undefined for anything else. */
export function captchaTokenFrom(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== CAPTCHA_SCHEME) return undefined;
  const token =
    parsed.searchParams.get('captcha_token') ??
    new URLSearchParams(parsed.hash.slice(1)).get('captcha_token');
  return token && token.length <= 4096 ? token : undefined;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Pages the challenge window may show: https anywhere, http on loopback only. */
export function isAllowedChallengeUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  return parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
}

export interface CaptchaWindowDeps {
  readonly BrowserWindow: BrowserWindowConstructor;
  readonly session: SessionModule;
  readonly shell: ShellModule;
  readonly log: Logger;
  readonly timeoutMs?: number;
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

const defaultSetTimer = (fn: () => void, ms: number): (() => void) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export class CaptchaSolver {
  readonly #deps: CaptchaWindowDeps;
  #current: { window: BrowserWindowLike; finish: (outcome: CaptchaOutcome) => void } | undefined;

  constructor(deps: CaptchaWindowDeps) {
    this.#deps = deps;
  }

  /** Shows the challenge at `url` and resolves with its captcha token, or why there is none. */
  solve(url: string): Promise<CaptchaOutcome> {
    if (!isAllowedChallengeUrl(url))
      return Promise.resolve({
        ok: false,
        reason: 'refused',
        message: 'PikPak sent a challenge address that is not https; it was not opened.',
      });
    // One challenge at a time: a new one replaces a window still open.
    this.#current?.finish({ ok: false, reason: 'closed', message: 'A newer challenge replaced this one.' });

    const { BrowserWindow, session, log } = this.#deps;
    const ses = session.fromPartition(CAPTCHA_PARTITION, { cache: false });
    ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);

    const window = new BrowserWindow({
      title: 'PikPak safety verification',
      width: 480,
      height: 720,
      show: true,
      autoHideMenuBar: true,
      webPreferences: {
        partition: CAPTCHA_PARTITION,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        safeDialogs: true,
        javascript: true,
      },
    });
    window.setMenu?.(null);
    const contents = window.webContents;

    return new Promise<CaptchaOutcome>((resolve) => {
      let done = false;
      let cancelTimer = (): void => undefined;
      const finish = (outcome: CaptchaOutcome): void => {
        if (done) return;
        done = true;
        cancelTimer();
        if (this.#current?.window === window) this.#current = undefined;
        if (!window.isDestroyed()) window.close();
        log.info(
          { ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) },
          'captcha challenge ended',
        );
        resolve(outcome);
      };
      this.#current = { window, finish };

      /** True when `target` is the app-scheme callback (then the navigation must not happen). */
      const capture = (target: string): boolean => {
        if (!target.toLowerCase().startsWith(CAPTCHA_SCHEME)) return false;
        const token = captchaTokenFrom(target);
        finish(
          token
            ? { ok: true, token }
            : { ok: false, reason: 'refused', message: 'The challenge ended without a captcha token.' },
        );
        return true;
      };
      const guard = (event: { preventDefault(): void }, target: string): void => {
        if (capture(target)) event.preventDefault();
        else if (!isAllowedChallengeUrl(target)) {
          event.preventDefault();
          log.warn({ scheme: target.split(':')[0] }, 'blocked a navigation in the captcha window');
        }
      };

      // Any frame, the main frame included (will-frame-navigate, then will-navigate for the main
      // frame), a server's 302 (will-redirect). did-start-navigation cannot cancel but still sees
      // every start, in case one of the others is skipped for an external scheme.
      contents.on('will-navigate', (event, target) => guard(event, target));
      contents.on('will-redirect', (event, target) => guard(event, target));
      contents.on('will-frame-navigate', (event) => guard(event, event.url));
      contents.on('did-start-navigation', (event) => void capture(event.url));
      contents.on('will-attach-webview', (event) => event.preventDefault());
      contents.setWindowOpenHandler(({ url: target }) => {
        if (!capture(target)) openExternalIfSafe(target, this.#deps);
        return { action: 'deny' };
      });
      // No webRequest listener: Chromium never issues a request for a scheme it has no handler
      // for, so the app scheme shows up only as the navigations above.

      window.on('closed', () =>
        finish({
          ok: false,
          reason: 'closed',
          message: 'The verification window was closed before it finished.',
        }),
      );
      cancelTimer = (this.#deps.setTimer ?? defaultSetTimer)(
        () => finish({ ok: false, reason: 'timeout', message: 'The verification took too long; try again.' }),
        this.#deps.timeoutMs ?? CAPTCHA_TIMEOUT_MS,
      );
      // A load aborted by our own capture rejects with ERR_ABORTED: nothing to report.
      window.loadURL(url).catch((error: unknown) => {
        if (!done) log.warn({ error: (error as Error).message }, 'the captcha page failed to load');
      });
    });
  }

  /** Closes a challenge window still open (on quit). */
  close(): void {
    this.#current?.finish({ ok: false, reason: 'closed', message: 'The app is quitting.' });
  }
}
