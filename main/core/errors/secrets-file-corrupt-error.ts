import { BrokerError } from './broker-error.js';

/**
 * `secrets.age` exists but is not a file this broker can use (not age, damaged, or a document of
 * an unknown shape). Like a corrupt settings file: left in place, a copy kept at `backupPath`,
 * never replaced by an empty store. The CLI exits 8.
 */
export class SecretsFileCorruptError extends BrokerError {
  readonly code = 'secrets_file_corrupt';
  readonly path: string;
  /** Where the copy of the bad file is; undefined only if even the copy failed. */
  readonly backupPath: string | undefined;
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
      `The secrets file ${path} cannot be used (${reason}); ${kept}. Restore it from a backup ` +
        '(check one with: age -d -i IDENTITY FILE), or move it away and sign in again.',
      options,
    );
    this.path = path;
    this.backupPath = backupPath;
    this.reason = reason;
  }
}
