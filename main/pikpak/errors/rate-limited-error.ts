import { PikPakError } from './pikpak-error.js';

/** PikPak is rate limiting us (error 10, "操作频繁", or HTTP 429). Back off and retry later. */
export class RateLimitedError extends PikPakError {
  readonly code = 'rate_limited';
  readonly retryable = true;
  /** Server hint from `Retry-After`, when there was one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { pikpakCode?: number; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}
