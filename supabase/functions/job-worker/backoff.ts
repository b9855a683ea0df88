/**
 * Delay before the next call inside one attempt: exponential backoff with full jitter
 * (uniform in [0, min(cap, base * 2^n))). Full jitter, not equal jitter: when a 503 wave fails
 * every in-flight call at once, the retries spread over the whole window instead of arriving as a
 * second wave. A provider's own hint (429 RetryInfo / Retry-After) is a floor: it is never
 * retried sooner than it asked.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export function backoffDelayMs(
  retryNumber: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retryNumber - 1));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}
