import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localDir } from '../local/config.ts';
import { CLUSTER_ENV, startTestCluster } from '../../testkit/database/cluster.ts';

/**
 * `npm run bench [name]`: each benchmark is `supabase/bench/<name>.ts` exporting a
 * default async function that returns a JSON-able result, and optionally `clusterSettings`
 * (server settings its cluster starts with). Each runs in its own process against
 * a throwaway Postgres cluster on free ports; its result is printed as one JSON line (the last
 * line) and written to `.local/bench/<name>.json`. Without a name every benchmark runs and the
 * last line is one JSON object keyed by name.
 */
const ORDER = ['gateway', 'realtime', 'fanout', 'queue', 'worker', 'thumbnail', 'ui', 'alerts', 'growth'];
const here = path.dirname(fileURLToPath(import.meta.url));
const available = ORDER.filter((name) => fs.existsSync(path.join(here, `${name}.ts`)));

export interface BenchModule {
  default: () => Promise<Record<string, unknown>>;
  clusterSettings?: Record<string, string | number>;
}

async function runOne(name: string) {
  const mod = (await import(path.join(here, `${name}.ts`))) as BenchModule;
  const cluster = await startTestCluster(mod.clusterSettings);
  process.env[CLUSTER_ENV] = cluster.url;
  try {
    const result = { benchmark: name, at: new Date().toISOString(), ...(await mod.default()) };
    fs.mkdirSync(path.join(localDir, 'bench'), { recursive: true });
    fs.writeFileSync(path.join(localDir, 'bench', `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await cluster.stop();
  }
}

const [name, child] = process.argv.slice(2);
if (name && child === '--in-process') {
  await runOne(name);
  process.exit(0);
} else if (name) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  await runOne(name);
  process.exit(0);
} else {
  const all: Record<string, unknown> = {};
  for (const bench of available) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), bench, '--in-process'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    process.stdout.write(run.stdout.split('\n').slice(0, -2).join('\n') + '\n');
    const last = run.stdout.trim().split('\n').pop() ?? '';
    try {
      all[bench] = JSON.parse(last);
    } catch {
      all[bench] = { error: `exit ${run.status}` };
    }
  }
  console.log(JSON.stringify(all));
}
