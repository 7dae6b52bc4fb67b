/**
 * `--notify-command`: a shell command the daemon runs when a headless user must know something
 * (an account needs a sign-in, it recovered, the secret store is unavailable). It gets the event
 * in its environment, never a secret; it runs detached from the broker's work (fire and forget),
 * is killed after a timeout, and is rate-limited per account and event.
 */
import { spawn } from 'node:child_process';
import { systemClock, type Clock, type Logger } from '../../core/ports.js';
import { NotifyRateLimiter } from './rate-limiter.js';

export const NOTIFY_EVENTS = ['reauth-required', 'recovered', 'secret-store-unavailable'] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

export interface NotifyEvent {
  readonly event: NotifyEventName;
  /** Empty for events about the whole broker (the secret store). */
  readonly account: string;
  /** One line for a person; built from states and errors, which never hold a secret. */
  readonly message: string;
}

export interface NotifyCommandOptions {
  readonly command: string;
  readonly log: Logger;
  readonly clock?: Clock;
  /** A command still running after this is killed (SIGKILL, its whole process group). */
  readonly timeoutMs?: number;
  /** The same account and event notify at most once per this interval. */
  readonly minIntervalMs?: number;
  /** Commands running at once; more are skipped (and logged) rather than queued. */
  readonly maxRunning?: number;
  readonly shell?: string;
}

export const NOTIFY_DEFAULTS = { timeoutMs: 30_000, minIntervalMs: 10 * 60_000, maxRunning: 4 } as const;

export class NotifyCommand {
  readonly #options: NotifyCommandOptions;
  readonly #limiter: NotifyRateLimiter;
  readonly #running = new Set<Promise<void>>();

  constructor(options: NotifyCommandOptions) {
    this.#options = options;
    this.#limiter = new NotifyRateLimiter(
      options.clock ?? systemClock,
      options.minIntervalMs ?? NOTIFY_DEFAULTS.minIntervalMs,
    );
  }

  /** Starts the command for `event` unless rate-limited; never throws, never waits for it. */
  notify(event: NotifyEvent): void {
    const { log } = this.#options;
    const context = { event: event.event, account: event.account || undefined };
    if (!this.#limiter.allow(`${event.account}\n${event.event}`)) {
      log.info(context, 'notify-command not run: the same event ran for this account recently');
      return;
    }
    if (this.#running.size >= (this.#options.maxRunning ?? NOTIFY_DEFAULTS.maxRunning)) {
      log.warn(context, 'notify-command not run: earlier ones are still running');
      return;
    }
    const run = this.#run(event).catch((error: unknown) =>
      log.warn({ ...context, error: (error as Error).message }, 'notify-command could not start'),
    );
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Resolves when every command started so far has ended (tests, and a clean stop). */
  async settled(): Promise<void> {
    while (this.#running.size) await Promise.all([...this.#running]);
  }

  #run(event: NotifyEvent): Promise<void> {
    const { log } = this.#options;
    const timeoutMs = this.#options.timeoutMs ?? NOTIFY_DEFAULTS.timeoutMs;
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.#options.shell ?? '/bin/sh', ['-c', this.#options.command], {
        env: {
          ...process.env,
          PIKPAK_BROKER_EVENT: event.event,
          PIKPAK_BROKER_ACCOUNT: event.account,
          PIKPAK_BROKER_MESSAGE: event.message,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
        // Its own process group, so a timeout kills what the shell started too.
        detached: process.platform !== 'win32',
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < 2000) stderr += chunk;
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      timer.unref();
      // Never delays the daemon's exit; a command still running then finishes on its own.
      child.unref();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const context = { event: event.event, account: event.account || undefined, code, signal };
        if (timedOut) log.warn(context, `notify-command killed after ${timeoutMs / 1000}s`);
        else if (code !== 0)
          log.warn({ ...context, stderr: stderr.trim().slice(0, 500) }, 'notify-command failed');
        else log.info(context, 'notify-command ran');
        resolve();
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
