import { PikPakError } from './pikpak-error.js';

/** The refresh token was already used or revoked (PikPak error 4126). Retrying with it is useless. */
export class InvalidGrantError extends PikPakError {
  readonly code = 'invalid_grant';
  readonly retryable = false;
}
