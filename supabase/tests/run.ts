import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../local/config.ts';
import { cacheAllFunctionDependencies } from '../local/gateway/functions/index.ts';
import { CLUSTER_ENV, startTestCluster } from './support/database.ts';

/**
 * `npm test [-- files...]`: starts one throwaway Postgres cluster on a free port with a
 * template database, runs every `*.test.ts` under the project's source folders with Node's
 * test runner (each file in its own process, each with its own database copied from the
 * template), then removes the cluster; then the browser journeys with `playwright test`.
 * Named files run alone (`*.spec.ts` on Playwright's runner). Exits non-zero if either part
 * fails. Works while a dev stack runs: no fixed ports.
 */
const SOURCE_DIRS = ['supabase', 'lib', 'app', 'components'];
const SKIP = new Set(['node_modules', '.next', '.local']);

function findTests(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, out);
    else if (/\.test\.tsx?$/.test(entry.name)) out.push(full);
  }
  return out;
}

const requested = process.argv.slice(2);
/** Re-run with SUPABASE_LEGACY_KEYS=off on a full run (see below). */
const LEGACY_OFF_SUITES = [
  'supabase/local/gateway/auth.test.ts',
  'supabase/local/gateway/rest/auth-rls.test.ts',
  'supabase/local/gateway/rest/read.test.ts',
  'supabase/local/gateway/rest/rpc.test.ts',
  'supabase/local/gateway/rest/write.test.ts',
  'supabase/local/gateway/realtime/postgres-changes.test.ts',
  'supabase/local/gateway/realtime/private-channels.test.ts',
  'supabase/local/gateway/realtime/broadcast.test.ts',
  'supabase/local/gateway/storage/storage.test.ts',
  'supabase/local/gateway/functions/functions.test.ts',
  'supabase/tests/job-worker/worker-function.test.ts',
  'supabase/tests/delete-user.test.ts',
  'lib/jobs/job-data.test.ts',
];
// Browser journeys (e2e/*.spec.ts) run after the node tests, on Playwright's runner (below).
const isJourney = (f: string) => /\.spec\.ts$/.test(f);
const requestedJourneys = requested.filter(isJourney);
// Files run two at a time in the order given: the one that takes minutes starts first, so the
// rest fill the other core beside it instead of leaving one idle at the end.
const RUN_FIRST = ['supabase/tests/job-worker/chaos.test.ts'].map((f) => path.join(repoRoot, f));
const files = requested.length
  ? requested.filter((f) => !isJourney(f)).map((f) => path.resolve(f))
  : SOURCE_DIRS.flatMap((d) => findTests(path.join(repoRoot, d))).sort((a, b) => Number(RUN_FIRST.includes(b)) - Number(RUN_FIRST.includes(a)) || a.localeCompare(b));
if (files.length === 0 && requestedJourneys.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

let interrupted = false;
let current: ReturnType<typeof spawn> | undefined;
const forward = (signal: NodeJS.Signals) => {
  interrupted = true;
  current?.kill(signal);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);

let code = 0;
// The edge functions' npm: dependencies, fetched once before any file starts a Deno worker.
{
  const started = Date.now();
  const names = await cacheAllFunctionDependencies((line) => console.log(line));
  console.log(`edge function dependencies ready in ${Date.now() - started} ms (${names.join(', ')})`);
}
if (files.length > 0) {
  const started = Date.now();
  const cluster = await startTestCluster();
  console.log(`test cluster ready in ${Date.now() - started} ms; ${files.length} test files`);

  // Two cores: one file at a time per core. Files needing more (race tests) open their own connections.
  const concurrency = process.env.TEST_CONCURRENCY ?? String(Math.max(1, os.availableParallelism()));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, [CLUSTER_ENV]: cluster.url } },
  );
  current = child;
  code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));

  // The suites that drive the platform with the official clients run a second time with legacy
  // keys off, as on a hosted project that has disabled them: only the publishable and secret keys
  // and ES256 tokens then work. A full run only; `SUPABASE_LEGACY_KEYS=off npm test -- <file>`
  // runs any file that way.
  const legacyOff = requested.length === 0 && process.env.SUPABASE_LEGACY_KEYS !== 'off' ? LEGACY_OFF_SUITES.map((f) => path.join(repoRoot, f)) : [];
  if (!interrupted && legacyOff.length > 0) {
    console.log(`\nlegacy keys off: ${legacyOff.length} test files again with SUPABASE_LEGACY_KEYS=off`);
    const again = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...legacyOff],
      { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, [CLUSTER_ENV]: cluster.url, SUPABASE_LEGACY_KEYS: 'off' } },
    );
    current = again;
    const againCode: number = await new Promise((resolve) => again.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
    if (code === 0) code = againCode;
  }
  await cluster.stop();
}

// The browser journeys, on Playwright's runner (playwright.config.ts starts the whole product for
// them): after the node tests, when every test is run or when journeys are named.
if (!interrupted && (requested.length === 0 || requestedJourneys.length > 0)) {
  const started = Date.now();
  console.log('\nbrowser journeys (playwright test)');
  const child = spawn(process.execPath, [path.join(repoRoot, 'node_modules/@playwright/test/cli.js'), 'test', ...requestedJourneys], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: process.env,
  });
  current = child;
  const journeysCode: number = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  console.log(`browser journeys: ${journeysCode === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s (report in playwright-report/)`);
  if (code === 0) code = journeysCode;
}
process.exit(interrupted ? 130 : code);
