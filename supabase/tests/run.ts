import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../local/config.ts';
import { cacheAllFunctionDependencies } from '../local/gateway/functions/index.ts';
import { CLUSTER_ENV, startTestCluster } from '../../testkit/database/cluster.ts';

/**
 * `npm test [-- files...]`: starts one throwaway Postgres cluster on a free port with a
 * template database, runs every `*.test.ts` under the project's source folders with Node's
 * test runner (each file in its own process, each with its own database copied from the
 * template), then removes the cluster; beside them, from the start, the browser journeys with
 * `playwright test`. Named files run alone (`*.spec.ts` on Playwright's runner). Prints each
 * node test file's time; exits non-zero if either part fails. Works while a dev stack runs: no
 * fixed ports.
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
// Browser journeys (e2e/*.spec.ts) run beside the node tests, on Playwright's runner (below).
const isJourney = (f: string) => /\.spec\.ts$/.test(f);
const requestedJourneys = requested.filter(isJourney);
// Files run two at a time in the order given: the slowest (measured; the summary at the end of a
// run lists every file's time) start first, so the short ones fill the cores beside them instead
// of one long file running alone at the end.
const SLOWEST_FIRST = [
  'supabase/tests/job-worker/chaos.test.ts',
  'supabase/local/cli.test.ts',
  'supabase/local/postgres.test.ts',
  'supabase/local/demo.test.ts',
  'supabase/tests/alert-rules.test.ts',
  'supabase/tests/job_queue_position.test.ts',
  'lib/jobs/job-data.test.ts',
  'supabase/tests/rls-matrix.test.ts',
  'supabase/tests/evaluate-alerts.test.ts',
  'supabase/local/alert-delivery.test.ts',
  'supabase/tests/job-worker/run-attempt.test.ts',
  'supabase/tests/job-worker/tracing.test.ts',
  'supabase/tests/new-api-keys.test.ts',
].map((f) => path.join(repoRoot, f));
const rank = (file: string) => (SLOWEST_FIRST.includes(file) ? SLOWEST_FIRST.indexOf(file) : SLOWEST_FIRST.length);
const files = requested.length
  ? requested.filter((f) => !isJourney(f)).map((f) => path.resolve(f))
  : SOURCE_DIRS.flatMap((d) => findTests(path.join(repoRoot, d))).sort((a, b) => a.localeCompare(b));
if (files.length === 0 && requestedJourneys.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

let interrupted = false;
const running = new Set<ReturnType<typeof spawn>>();
const forward = (signal: NodeJS.Signals) => {
  interrupted = true;
  for (const child of running) child.kill(signal);
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
// The browser journeys, on Playwright's runner (playwright.config.ts starts the whole product for
// them), when every test is run or when journeys are named. They start at once, beside the node
// tests: much of their time is spent waiting on jobs, Realtime and the browser, so the two parts
// overlap instead of adding up.
const journeys = !interrupted && (requested.length === 0 || requestedJourneys.length > 0) ? runJourneys(requestedJourneys, files.length > 0) : undefined;
if (files.length > 0) {
  const started = Date.now();
  const cluster = await startTestCluster();
  console.log(`test cluster ready in ${Date.now() - started} ms; ${files.length} test files`);

  // The suites that drive the platform with the official clients run a second time with legacy
  // keys off, as on a hosted project that has disabled them: only the publishable and secret keys
  // and ES256 tokens then work. A full run only; `SUPABASE_LEGACY_KEYS=off npm test -- <file>`
  // runs any file that way. They join the same queue as the rest, so no core waits between the two.
  const legacyOff = requested.length === 0 && process.env.SUPABASE_LEGACY_KEYS !== 'off' ? LEGACY_OFF_SUITES.map((f) => path.join(repoRoot, f)) : [];
  const runs: FileRun[] = [
    ...files.map((file) => ({ file, label: path.relative(repoRoot, file), env: {} })),
    ...legacyOff.map((file) => ({ file, label: `${path.relative(repoRoot, file)} (legacy keys off)`, env: { SUPABASE_LEGACY_KEYS: 'off' } })),
  ].sort((a, b) => rank(a.file) - rank(b.file)); // stable: the rest keep their order
  // One file at a time per core. Files needing more (race tests) open their own connections.
  const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, os.availableParallelism()));
  const results = await runFiles(runs, concurrency, { ...process.env, [CLUSTER_ENV]: cluster.url });
  await cluster.stop();
  printSummary(results, Date.now() - started);
  if (results.some((r) => !r.passed)) code = 1;
}
if (journeys) {
  const journeysCode = await journeys;
  if (code === 0) code = journeysCode;
}
process.exit(interrupted ? 130 : code);

/**
 * `playwright test` for the named journeys (all when none is named). Beside the node tests its
 * output streams line by line with a prefix, between the node files' whole blocks; alone it is
 * Playwright's own.
 */
async function runJourneys(named: string[], besideNodeTests: boolean): Promise<number> {
  const started = Date.now();
  console.log(`browser journeys (playwright test)${besideNodeTests ? ', beside the node tests' : ''}`);
  const child = spawn(process.execPath, [path.join(repoRoot, 'node_modules/@playwright/test/cli.js'), 'test', ...named], {
    cwd: repoRoot,
    stdio: besideNodeTests ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    env: besideNodeTests ? { ...process.env, FORCE_COLOR: '0' } : process.env,
  });
  running.add(child);
  if (besideNodeTests) {
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) process.stdout.write(`journeys │ ${line}\n`);
      });
      stream.on('end', () => partial && process.stdout.write(`journeys │ ${partial}\n`));
    }
  }
  const journeysCode: number = await new Promise((resolve) => child.on('close', (c, s) => resolve(c ?? (s ? 1 : 0))));
  running.delete(child);
  console.log(`browser journeys: ${journeysCode === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s (report in playwright-report/)`);
  return journeysCode;
}

interface FileRun {
  file: string;
  label: string;
  env: Record<string, string>;
}

interface FileResult extends FileRun {
  passed: boolean;
  ms: number;
}

/**
 * Runs each file in its own `node --test` process, `concurrency` at a time, in the order given.
 * Several at once: each file's output is held and printed whole when it ends, so files never
 * interleave; one alone streams. Every file's wall time is measured, for the summary.
 */
async function runFiles(runs: FileRun[], concurrency: number, env: NodeJS.ProcessEnv): Promise<FileResult[]> {
  const results: FileResult[] = [];
  const queue = [...runs];
  const stream = runs.length === 1;
  const runOne = (run: FileRun) =>
    new Promise<FileResult>((resolve) => {
      const started = Date.now();
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', run.file], {
        cwd: repoRoot,
        stdio: stream ? 'inherit' : ['ignore', 'pipe', 'pipe'],
        env: { ...env, ...run.env },
      });
      running.add(child);
      const output: Buffer[] = [];
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
      child.on('close', (exitCode, signal) => {
        running.delete(child);
        const result = { ...run, passed: exitCode === 0 && !signal, ms: Date.now() - started };
        if (!stream) {
          process.stdout.write(`\n── ${run.label}: ${result.passed ? 'passed' : 'FAILED'} in ${(result.ms / 1000).toFixed(1)} s\n`);
          process.stdout.write(Buffer.concat(output));
        }
        resolve(result);
      });
    });
  const lane = async () => {
    for (let run = queue.shift(); run && !interrupted; run = queue.shift()) results.push(await runOne(run));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, lane));
  return results;
}

/** Every file's wall time, slowest first, and the failed ones named again at the end. */
function printSummary(results: FileResult[], totalMs: number) {
  const sorted = [...results].sort((a, b) => b.ms - a.ms);
  console.log(`\nnode tests: ${results.length} files in ${Math.round(totalMs / 1000)} s; time per file, slowest first:`);
  for (const r of sorted) console.log(`${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.passed ? '' : 'FAILED  '}${r.label}`);
  const failed = results.filter((r) => !r.passed);
  console.log(failed.length === 0 ? 'node tests: all passed' : `node tests: ${failed.length} FAILED: ${failed.map((r) => r.label).join(', ')}`);
}
