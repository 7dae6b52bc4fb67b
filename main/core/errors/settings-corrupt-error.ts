import { BrokerError } from './broker-error.js';

/**
 * The settings file exists but cannot be used (not JSON, or not the expected shape). The file is
 * left in place and a copy is kept at `backupPath`; nothing is reset to defaults silently.
 */
export class SettingsCorruptError extends BrokerError {
  readonly code = 'settings_corrupt';
  readonly path: string;
  /** Where the copy of the bad file was kept; undefined only if even the copy failed. */
  readonly backupPath: string | undefined;
  /** What is wrong, e.g. `accounts.0.platform: Invalid option: expected one of "android"|"web"|"pc"`. */
  readonly reason: string;

  constructor(
    path: string,
    backupPath: string | undefined,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    const kept = backupPath
      ? `a copy is kept at ${backupPath}`
      : 'no copy could be made; the file is untouched';
    super(
      `The settings file ${path} cannot be used (${reason}); ${kept}. Fix or remove it, then start the broker again.`,
      options,
    );
    this.path = path;
    this.backupPath = backupPath;
    this.reason = reason;
  }
}
