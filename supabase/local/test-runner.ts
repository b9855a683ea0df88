import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './config.ts';
import { CLUSTER_ENV, startTestCluster } from './testing.ts';

/**
 * `npm test [-- files...]`: starts one throwaway Postgres cluster on a free port with a
 * template database, runs every `*.test.ts` under the project's source folders with Node's
 * test runner (each file in its own process, each with its own database copied from the
 * template), then removes the cluster. Works while a dev stack runs: no fixed ports.
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
const files = requested.length
  ? requested.map((f) => path.resolve(f))
  : SOURCE_DIRS.flatMap((d) => findTests(path.join(repoRoot, d))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

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
let interrupted = false;
const forward = (signal: NodeJS.Signals) => {
  interrupted = true;
  child.kill(signal);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code: number = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await cluster.stop();
process.exit(interrupted ? 130 : code);
