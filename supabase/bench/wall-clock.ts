/**
 * Wall-clock time in milliseconds with sub-millisecond resolution: the process's start on the
 * system clock plus the monotonic time since. Every process on one host reads the same system
 * clock, so a time taken in one process (a writer after its COMMIT returned) can be subtracted
 * from a time taken in another (a subscriber's callback); it is also comparable with Postgres'
 * clock_timestamp() on the same host.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
