/**
 * Capped exponential backoff with jitter, as a pure function. The keeper schedules retries on
 * its injected clock (retrying is a visible state, not a hidden loop), so it only needs the
 * delay; p-retry's own timers could not run under the keeper's fake clock.
 */
export interface BackoffPolicy {
  readonly minMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** 0 = no jitter; 1 = "full jitter" (uniform between 0 and the capped delay). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 1_000, maxMs: 5 * 60_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (1-based). `random` is uniform in [0, 1). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number,
  hintMs?: number,
): number {
  const exponential = policy.minMs * policy.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxMs, exponential);
  const jittered = capped * (1 - policy.jitter * random());
  // A server hint (Retry-After) is a floor: never come back earlier than asked.
  return Math.max(Math.round(jittered), hintMs ?? 0, 1);
}
