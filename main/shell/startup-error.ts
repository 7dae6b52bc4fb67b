/** When the core cannot start: what to tell the user (a dialog, then the tray's error state). */
import { LockHeldError, SettingsCorruptError } from '../core/errors/index.js';

export interface StartupFailure {
  readonly title: string;
  readonly detail: string;
  /** One line for the tray and the status window. */
  readonly short: string;
}

export function describeStartupFailure(error: unknown): StartupFailure {
  if (error instanceof LockHeldError) {
    const holder = error.holder;
    return {
      title: 'Another PikPak Token Broker is running',
      detail:
        `${error.message}\n\nOnly one process may refresh PikPak tokens on this machine. ` +
        (holder?.command === 'daemon'
          ? 'Stop the daemon first (for example: systemctl --user stop pikpak-token-broker), then start the app again.'
          : 'Quit the other one first, then start the app again.'),
      short: holder
        ? `another broker runs (pid ${holder.pid}, ${holder.command})`
        : 'another broker is starting',
    };
  }
  if (error instanceof SettingsCorruptError)
    return {
      title: 'The settings file is damaged',
      detail: `${error.message}\n\nNothing was reset. Fix or remove the file, then start the app again.`,
      short: 'the settings file is damaged',
    };
  const message = error instanceof Error ? error.message : String(error);
  return { title: 'PikPak Token Broker could not start', detail: message, short: message };
}
