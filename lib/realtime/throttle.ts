/**
 * A trailing throttle driven only by events: `trigger()` schedules one run, at the earliest
 * `leadingDelayMs` from now and `intervalMs` after the previous run; further triggers before it
 * runs join it. No timer exists while nothing was triggered, so an idle page does no work
 * (the difference from polling).
 */
export type Timers = {
  now: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
};

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

export type Throttle = {
  trigger: () => void;
  /** Runs a pending run now (nothing if none is pending). */
  flush: () => void;
  cancel: () => void;
};

export function createThrottle(
  run: () => void,
  { intervalMs, leadingDelayMs = 0, timers = realTimers }: { intervalMs: number; leadingDelayMs?: number; timers?: Timers },
): Throttle {
  let timer: unknown = null;
  let lastRun = Number.NEGATIVE_INFINITY;
  const fire = () => {
    timer = null;
    lastRun = timers.now();
    run();
  };
  return {
    trigger() {
      if (timer !== null) return;
      timer = timers.setTimeout(fire, Math.max(leadingDelayMs, lastRun + intervalMs - timers.now()));
    },
    flush() {
      if (timer === null) return;
      timers.clearTimeout(timer);
      fire();
    },
    cancel() {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
    },
  };
}
