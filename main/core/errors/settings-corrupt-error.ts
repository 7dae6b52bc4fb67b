import { CorruptFileError } from './corrupt-file-error.js';

/** The settings file is not JSON, or not the expected shape. */
export class SettingsCorruptError extends CorruptFileError {
  readonly code = 'settings_corrupt';

  constructor(
    path: string,
    backupPath: string | undefined,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      { what: 'settings file', remedy: 'Fix or remove it, then start the broker again.' },
      path,
      backupPath,
      reason,
      options,
    );
  }
}
