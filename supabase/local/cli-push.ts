import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDatabase, diffCatalogs, formatDifferences, readCatalog } from './catalog.ts';
import { readProjectConfig, repoRoot } from './config.ts';
import { loadSigningKeys } from './jwt.ts';
import { bootstrapDatabase, migrationsDir } from './migrate.ts';
import { createEmptyDatabase, startScratchCluster } from './postgres.ts';

/**
 * `npm run db:cli-push`: the migrations applied by the tool production uses, the Supabase CLI
 * (`supabase db push --db-url`), to a fresh database that has only the platform bootstrap, as a
 * new hosted project has; then its catalog compared with the one the local platform's own
 * runner builds from the same files (the comparison of `npm run db:catalog-diff`). Exits 1 when
 * the CLI refuses a migration or the two databases differ in anything.
 */
const SUPABASE_CLI = path.join(repoRoot, 'node_modules', '.bin', 'supabase');

/** Runs the CLI from the repository root (it reads supabase/config.toml and supabase/migrations). */
export function runSupabaseCli(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SUPABASE_CLI, args, {
      cwd: repoRoot,
      // Nothing leaves the machine: no telemetry, no update check.
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', SUPABASE_NO_UPDATE_NOTIFIER: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The CLI refuses a server without TLS unless told; the embedded Postgres has none. */
const withoutTls = (url: string) => `${url}${url.includes('?') ? '&' : '?'}sslmode=disable`;

async function main(): Promise<number> {
  // The CLI loads every file config.toml names, the local signing key included (not committed):
  // made here as `npm run stack` makes it on a fresh clone.
  await loadSigningKeys(readProjectConfig().signingKeysPath);
  const cluster = await startScratchCluster();
  try {
    // One after the other: the bootstrap alters cluster-wide roles (see compareMigrationFolders).
    const local = await buildDatabase(cluster.url, migrationsDir);
    const pushed = await createEmptyDatabase(cluster.url, 'cli_push');
    await bootstrapDatabase(pushed);

    const push = await runSupabaseCli(['db', 'push', '--db-url', withoutTls(pushed), '--yes']);
    console.log(push.output.trim());
    if (push.code !== 0) {
      console.error(`supabase db push failed (exit ${push.code})`);
      return 1;
    }
    const list = await runSupabaseCli(['migration', 'list', '--db-url', withoutTls(pushed)]);
    console.log(list.output.trim());
    if (list.code !== 0) {
      console.error(`supabase migration list failed (exit ${list.code})`);
      return 1;
    }

    const differences = diffCatalogs(await readCatalog(local), await readCatalog(pushed));
    console.log(formatDifferences(differences, { before: 'the local runner', after: 'supabase db push' }));
    return differences.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
