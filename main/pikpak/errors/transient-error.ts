import { PikPakError } from './pikpak-error.js';

export type TransientReason = 'network' | 'timeout' | 'server' | 'bad-response';

/**
 * A failure that says nothing about the credentials: network down, timeout, 5xx, or a body
 * that is not PikPak's JSON. Never a reason to discard a refresh token.
 */
export class TransientError extends PikPakError {
  readonly code = 'transient';
  readonly retryable = true;
  readonly reason: TransientReason;

  constructor(
    reason: TransientReason,
    message: string,
    options: { pikpakCode?: number; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(message, options);
    this.reason = reason;
  }
}
