import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualTimers } from './manual-timers.ts';
import { createThrottle } from './throttle.ts';

describe('createThrottle', () => {
  test('the first trigger after a quiet spell runs after the leading delay, later ones at most once per interval', () => {
    const { timers, advance } = manualTimers();
    const runs: number[] = [];
    const throttle = createThrottle(() => runs.push(timers.now()), { intervalMs: 10_000, leadingDelayMs: 1_000, timers });
    throttle.trigger();
    throttle.trigger();
    advance(999);
    assert.deepEqual(runs, []);
    advance(1);
    assert.deepEqual(runs, [1_000]);
    // A steady stream of triggers: one run per interval, not one per trigger.
    for (let t = 0; t < 30_000; t += 100) {
      throttle.trigger();
      advance(100);
    }
    assert.deepEqual(runs, [1_000, 11_000, 21_000, 31_000]);
  });

  test('never runs, and keeps no timer, when nothing triggers it', () => {
    const { timers, advance, pendingTimers } = manualTimers();
    let runs = 0;
    createThrottle(() => runs++, { intervalMs: 10_000, timers });
    advance(60_000);
    assert.equal(runs, 0);
    assert.equal(pendingTimers(), 0);
  });

  test('cancel drops a pending run', () => {
    const { timers, advance } = manualTimers();
    let runs = 0;
    const throttle = createThrottle(() => runs++, { intervalMs: 10_000, leadingDelayMs: 1_000, timers });
    throttle.trigger();
    throttle.cancel();
    advance(60_000);
    assert.equal(runs, 0);
  });
});
