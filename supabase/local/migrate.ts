import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { AUTHENTICATOR_PASSWORD, supabaseDir } from './config.ts';

export class MigrationError extends Error {}

const bootstrapFile = path.join(supabaseDir, 'local', 'bootstrap.sql');
export const migrationsDir = path.join(supabaseDir, 'migrations');
export const seedFile = path.join(supabaseDir, 'seed.sql');

/** `<version>_<name>.sql`, the Supabase CLI's naming: version is the leading digits. */
const MIGRATION_NAME = /^(\d+)_(.+)\.sql$/;

export interface MigrationFile {
  version: string;
  name: string;
  file: string;
}

export function listMigrations(dir = migrationsDir): MigrationFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = MIGRATION_NAME.exec(file);
      if (!match) throw new MigrationError(`${file}: migration files are named <version>_<name>.sql`);
      return { version: match[1]!, name: match[2]!, file };
    });
}

function describe(error: unknown, sql: string): string {
  const e = error as pg.DatabaseError;
  let where = '';
  if (e.position) {
    const line = sql.slice(0, Number(e.position)).split('\n').length;
    where = ` (line ${line})`;
  }
  return `${e.message}${where}`;
}

/** Serialises concurrent starts against one database (two `npm run stack`s, parallel tests). */
const LOCK_KEY = 7_413_052_001;

export interface PrepareResult {
  applied: string[];
  seeded: boolean;
}

/** The platform bootstrap in one transaction: what a new hosted project has before any migration. */
async function applyBootstrap(client: pg.Client): Promise<void> {
  const bootstrap = fs.readFileSync(bootstrapFile, 'utf8');
  try {
    await client.query('begin');
    await client.query(bootstrap);
    await client.query(`alter role authenticator password '${AUTHENTICATOR_PASSWORD.replace(/'/g, "''")}'`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw new MigrationError(`platform bootstrap failed: ${describe(error, bootstrap)}`);
  }
}

/**
 * Only the platform bootstrap, no migration: a database as a new hosted project hands it to
 * `supabase db push`.
 */
export async function bootstrapDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await applyBootstrap(client);
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => {});
    await client.end();
  }
}

/**
 * Brings a database to the state a hosted project would have: platform bootstrap (local
 * only), then each migration not yet recorded, each in its own transaction and recorded in
 * supabase_migrations.schema_migrations as the Supabase CLI records it; then seed.sql when
 * the database was fresh.
 */
export async function prepareDatabase(
  url: string,
  options: { seed?: boolean; migrations?: string; log?: (line: string) => void } = {},
): Promise<PrepareResult> {
  const log = options.log ?? (() => {});
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await applyBootstrap(client);

    await client.query(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key, statements text[], name text
      );`);
    const done = new Set(
      (await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: string[] = [];
    const dir = options.migrations ?? migrationsDir;
    for (const migration of listMigrations(dir)) {
      if (done.has(migration.version)) continue;
      const sql = fs.readFileSync(path.join(dir, migration.file), 'utf8');
      try {
        await client.query('begin');
        await client.query(sql);
        await client.query(
          'insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)',
          [migration.version, migration.name, [sql]],
        );
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new MigrationError(`migration ${migration.file} failed: ${describe(error, sql)}`);
      }
      applied.push(migration.file);
      log(`applied migration ${migration.file}`);
    }

    // Seeded once per database, recorded as the Supabase CLI records seed files; a database
    // that was seeded keeps its data across restarts.
    // The CLI makes its seed bookkeeping table only when it seeds (`supabase db push` without
    // --include-seed does not), and so does this runner: a database built without the seed has the
    // catalog `supabase db push` leaves (`npm run db:cli-push` compares the two).
    let seeded = false;
    if (options.seed !== false) {
      await client.query('create table if not exists supabase_migrations.seed_files (path text primary key, hash text not null)');
    }
    const seedDone =
      options.seed === false ||
      (await client.query(`select 1 from supabase_migrations.seed_files where path = 'supabase/seed.sql'`)).rowCount;
    if (!seedDone && fs.existsSync(seedFile)) {
      const sql = fs.readFileSync(seedFile, 'utf8');
      try {
        await client.query('begin');
        await client.query(sql);
        await client.query(`insert into supabase_migrations.seed_files (path, hash) values ('supabase/seed.sql', md5($1))`, [
          sql,
        ]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new MigrationError(`seed.sql failed: ${describe(error, sql)}`);
      }
      seeded = true;
      log('seeded the database from supabase/seed.sql');
    }
    // PostgREST reloads its schema cache on this notification; so does the local gateway.
    await client.query(`notify pgrst, 'reload schema'`);
    return { applied, seeded };
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => {});
    await client.end();
  }
}
