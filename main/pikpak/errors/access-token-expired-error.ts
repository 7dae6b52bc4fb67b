import { PikPakError } from './pikpak-error.js';

/** The access token is expired or invalid (PikPak errors 16, 4121, 4122): refresh, then retry. */
export class AccessTokenExpiredError extends PikPakError {
  readonly code = 'access_token_expired';
  readonly retryable = false;
}
