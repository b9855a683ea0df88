import type pg from 'pg';

/**
 * realtime.messages is partitioned by day on `inserted_at`, as on hosted Supabase, and only the
 * Realtime server makes the partitions: an insert for a day without one fails (realtime.send()
 * then drops the broadcast with a warning). Like hosted Realtime's maintenance task, this makes
 * today's partition and the next days' ahead of need, and drops the days past retention (whole
 * partitions: no row-by-row delete, no bloat).
 */
export const PARTITION_DAYS_AHEAD = 3;
export const RETENTION_DAYS = 3;

const MAINTAIN_SQL = `
do $$
declare
  d date;
  p record;
begin
  for d in select generate_series(current_date - 1, current_date + ${PARTITION_DAYS_AHEAD}, interval '1 day')::date loop
    execute format(
      'create table if not exists realtime.%I partition of realtime.messages for values from (%L) to (%L)',
      'messages_' || to_char(d, 'YYYY_MM_DD'), d, d + 1);
  end loop;
  for p in
    select c.relname
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'realtime.messages'::regclass
       and c.relname ~ '^messages_\\d{4}_\\d{2}_\\d{2}$'
       and to_date(substr(c.relname, 10), 'YYYY_MM_DD') < current_date - ${RETENTION_DAYS}
  loop
    execute format('drop table realtime.%I', p.relname);
  end loop;
end
$$`;

/** Creates the coming days' partitions and drops expired ones; safe to run concurrently and repeatedly. */
export async function maintainMessagePartitions(db: pg.Pool | pg.ClientBase): Promise<void> {
  try {
    await db.query(MAINTAIN_SQL);
  } catch (error) {
    // Two servers creating the same partition at once: the loser's "already exists" is harmless.
    if ((error as { code?: string }).code !== '42P07') throw error;
  }
}
