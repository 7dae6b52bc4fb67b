import { PikPakError } from './pikpak-error.js';

/** The captcha token is expired (PikPak error 9): get a new one and retry once. */
export class CaptchaExpiredError extends PikPakError {
  readonly code = 'captcha_expired';
  readonly retryable = true;
}
