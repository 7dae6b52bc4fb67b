import { BrokerError } from './broker-error.js';

/**
 * A file of ours exists but cannot be used (settings, secrets.age). It is left in place and a copy
 * is kept at `backupPath`; nothing is reset to defaults or replaced by an empty store silently.
 * The CLI exits 8 for every kind.
 */
export abstract class CorruptFileError extends BrokerError {
  readonly path: string;
  /** Where the copy of the bad file was kept; undefined only if even the copy failed. */
  readonly backupPath: string | undefined;
  /** What is wrong, e.g. `accounts.0.platform: Invalid option: expected one of "android"|"web"|"pc"`. */
  readonly reason: string;

  protected constructor(
    file: { what: string; remedy: string },
    path: string,
    backupPath: string | undefined,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    const kept = backupPath
      ? `a copy is kept at ${backupPath}`
      : 'no copy could be made; the file is untouched';
    super(`The ${file.what} ${path} cannot be used (${reason}); ${kept}. ${file.remedy}`, options);
    this.path = path;
    this.backupPath = backupPath;
    this.reason = reason;
  }
}
