import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLASH } from './worker-fixture.ts';
import { DEFAULT_WORKER_SLOTS, measureWorkerBurst } from './worker-memory.ts';

// The worker memory check: a hosted edge function is stopped at 256 MB, and a worker stopped
// mid-burst leaves every job it held to wait out its lease. Memory, unlike time, is steady
// enough on a shared machine to hold as a line; the timing figures stay in `npm run bench worker`.
const HOSTED_LIMIT_MB = 256;

describe('the worker\'s memory with real-size images in flight', () => {
  // As deployed: the default slots, and the size the worker asks for (the models' default, 1K).
  // Four waves, so that what a job leaves behind (garbage, a cache) adds up as it would over an
  // invocation, not only what one wave holds at once.
  test(`a burst of 1K images at the default concurrency peaks under the hosted ${HOSTED_LIMIT_MB} MB`, async (t) => {
    const burst = await measureWorkerBurst({ model: FLASH, jobs: 4 * DEFAULT_WORKER_SLOTS, holdMs: 2000 });
    t.diagnostic(JSON.stringify(burst));
    assert.equal(burst.image, '1024x1024 PNG');
    assert.equal(burst.succeeded, burst.jobs);
    assert.equal(burst.peak_in_flight, burst.slots, 'every slot held a job at once');
    assert.ok(
      burst.peak_rss_mb <= HOSTED_LIMIT_MB,
      `the worker peaked at ${burst.peak_rss_mb} MB RSS with ${burst.slots} 1K images in flight, over the hosted ${HOSTED_LIMIT_MB} MB`,
    );
  });
});
