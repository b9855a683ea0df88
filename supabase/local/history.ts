import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { supabaseDir } from './config.ts';

export const historyFile = path.join(supabaseDir, 'local', 'history.sql');
/** How the run is recorded, next to seed.sql's record, so it happens once per database. */
const RECORD = 'supabase/local/history.sql';

/**
 * Adds a day of demo history (see history.sql) to a local database once: `npm run dev` and
 * `npm run stack` call it after the migrations and the seed; tests never do. Returns the number
 * of jobs added, or null when the database already has it.
 */
export async function addHistoryOnce(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    // Two stacks starting on one database: the second waits, then finds the record.
    await client.query(`lock table supabase_migrations.seed_files in exclusive mode`);
    const done = await client.query('select 1 from supabase_migrations.seed_files where path = $1', [RECORD]);
    if (done.rowCount) {
      await client.query('rollback');
      return null;
    }
    const sql = fs.readFileSync(historyFile, 'utf8');
    await client.query(sql);
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::integer as n from public.jobs where user_id in (select id from auth.users where email like 'customer-%@example.com')`,
    );
    await client.query('insert into supabase_migrations.seed_files (path, hash) values ($1, md5($2))', [RECORD, sql]);
    await client.query('commit');
    return rows[0]!.n;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
