/**
 * At most one notification per key (account + event) within `intervalMs`: a flapping account
 * must not flood a phone. The clock is injected so the rule is tested without waiting.
 */
import type { Clock } from '../../core/ports.js';

export class NotifyRateLimiter {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #intervalMs: number;
  readonly #lastAt = new Map<string, number>();

  constructor(clock: Pick<Clock, 'now'>, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** True (and the key's time recorded) when a notification for `key` may go out now. */
  allow(key: string): boolean {
    const now = this.#clock.now();
    const last = this.#lastAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#lastAt.set(key, now);
    return true;
  }
}
