/** What the login window is told when a sign-in fails: a code to act on and words for people. */
import { AccountConflictError, InvalidAccountNameError } from '../core/broker-errors.js';
import { KeychainUnavailableError } from '../core/errors/index.js';
import {
  CaptchaExpiredError,
  CaptchaRequiredError,
  PikPakError,
  PikPakRejectedError,
  RateLimitedError,
} from '../pikpak/errors/index.js';
import type { LoginOutcome } from './ipc-channels.js';

export function loginFailure(error: unknown): Extract<LoginOutcome, { ok: false }> {
  if (error instanceof CaptchaRequiredError)
    return {
      ok: false,
      code: 'captcha_required',
      url: error.url,
      message:
        'PikPak wants you to solve a captcha first. A verification window opens; complete it to continue.',
    };
  if (error instanceof CaptchaExpiredError)
    return {
      ok: false,
      code: 'rejected',
      message: 'The captcha expired before the sign-in finished. Sign in again.',
    };
  // The provider's message already says what PikPak refused and why (e.g. a wrong password).
  if (error instanceof PikPakRejectedError) return { ok: false, code: 'rejected', message: error.message };
  if (error instanceof RateLimitedError)
    return {
      ok: false,
      code: 'unavailable',
      message: 'PikPak is limiting sign-ins right now. Wait a minute and try again.',
    };
  if (error instanceof PikPakError && error.retryable)
    return { ok: false, code: 'unavailable', message: `PikPak could not be reached: ${error.message}` };
  if (error instanceof PikPakError) return { ok: false, code: 'rejected', message: error.message };
  if (error instanceof InvalidAccountNameError) return { ok: false, code: 'invalid', message: error.message };
  if (error instanceof AccountConflictError) return { ok: false, code: 'conflict', message: error.message };
  if (error instanceof KeychainUnavailableError)
    return {
      ok: false,
      code: 'keychain',
      message: `The OS keychain cannot be used, so the new token could not be stored safely: ${error.message}`,
    };
  return {
    ok: false,
    code: 'failed',
    message: `The sign-in failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}
