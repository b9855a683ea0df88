// Loaded into the Next.js server by `npm run bench thumbnail` (node --import), for ours and the
// peer alike: every garbage collection's kind, start (epoch ms) and pause, one line each, so the
// benchmark can tell which views ran into a full collection. Nothing of the app reads it.
import fs from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.JOBHEALTH_BENCH_GC_LOG;
if (file) {
  new PerformanceObserver((list) => {
    const lines = list.getEntries().map((entry) => `${entry.detail.kind} ${(performance.timeOrigin + entry.startTime).toFixed(3)} ${entry.duration.toFixed(3)}\n`);
    fs.appendFileSync(file, lines.join(''));
  }).observe({ entryTypes: ['gc'] });
}
