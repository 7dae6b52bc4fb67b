import { CorruptFileError } from './corrupt-file-error.js';

/** `secrets.age` is not age, is damaged, or holds a document of an unknown shape. */
export class SecretsFileCorruptError extends CorruptFileError {
  readonly code = 'secrets_file_corrupt';

  constructor(
    path: string,
    backupPath: string | undefined,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      {
        what: 'secrets file',
        remedy:
          'Restore it from a backup (check one with: age -d -i IDENTITY FILE), or move it away and sign in again.',
      },
      path,
      backupPath,
      reason,
      options,
    );
  }
}
