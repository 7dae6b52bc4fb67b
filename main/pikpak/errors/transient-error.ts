import { PikPakError } from './pikpak-error.js';

export type TransientReason = 'network' | 'timeout' | 'server' | 'bad-response';

/**
 * What the failure proves about the request (and so about a refresh token it carried):
 * - `not-sent`: it never reached PikPak (refused, no route, name not resolved, TLS handshake);
 * - `answered`: PikPak (or its front end) answered with a 5xx: nothing was granted;
 * - `unknown`: it may have been handled and the answer lost (timeout, reset, cut short, garbage).
 */
export type TransientDelivery = 'not-sent' | 'answered' | 'unknown';

/**
 * A failure that says nothing about the credentials: network down, timeout, 5xx, or a body
 * that is not PikPak's JSON. Never a reason to discard a refresh token.
 */
export class TransientError extends PikPakError {
  readonly code = 'transient';
  readonly retryable = true;
  readonly reason: TransientReason;
  readonly delivery: TransientDelivery;

  constructor(
    reason: TransientReason,
    message: string,
    options: { pikpakCode?: number; httpStatus?: number; cause?: unknown; delivery?: TransientDelivery } = {},
  ) {
    super(message, options);
    this.reason = reason;
    // Only a 5xx is an answer by default; anything else claims no more than "unknown".
    this.delivery = options.delivery ?? (reason === 'server' ? 'answered' : 'unknown');
  }
}
