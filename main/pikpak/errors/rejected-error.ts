import { PikPakError } from './pikpak-error.js';

/**
 * PikPak refused the call for a reason retrying will not fix and that is none of the above:
 * a wrong password, an unknown account, a banned client. `error` is PikPak's error name.
 */
export class PikPakRejectedError extends PikPakError {
  readonly code = 'rejected';
  readonly retryable = false;
  readonly error: string;

  constructor(error: string, message: string, options: { pikpakCode?: number; httpStatus?: number } = {}) {
    super(message, options);
    this.error = error;
  }
}
