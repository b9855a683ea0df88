import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testDbForFile } from '../../../../testkit/database/fixtures.ts';
import { maintainMessagePartitions, PARTITION_DAYS_AHEAD, RETENTION_DAYS } from './message-partitions.ts';

const t = testDbForFile();

/** realtime.messages' daily partitions, as dates. */
async function partitionDays(): Promise<string[]> {
  const { rows } = await t.db.query<{ day: string }>(
    `select to_char(to_date(substr(c.relname, 10), 'YYYY_MM_DD'), 'YYYY-MM-DD') as day
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'realtime.messages'::regclass order by 1`,
  );
  return rows.map((r) => r.day);
}

async function day(offset: number): Promise<string> {
  const { rows } = await t.db.query<{ d: string }>(`select to_char(current_date + $1::integer, 'YYYY-MM-DD') as d`, [offset]);
  return rows[0]!.d;
}

test(`realtime.messages keeps ${RETENTION_DAYS} days, as hosted Realtime does: older partitions are dropped whole, the coming days made ahead`, async () => {
  // Days of broadcasts a stack left behind while it was not running.
  for (const offset of [-(RETENTION_DAYS + 2), -(RETENTION_DAYS + 1), -RETENTION_DAYS]) {
    const d = await day(offset);
    await t.db.query(
      `create table if not exists realtime."messages_${d.replaceAll('-', '_')}" partition of realtime.messages for values from ('${d}') to ('${d}'::date + 1)`,
    );
    await t.db.query(`insert into realtime.messages (topic, extension, event, inserted_at) values ('admin:jobs', 'broadcast', 'job_changed', $1)`, [d]);
  }
  await maintainMessagePartitions(t.db);
  const days = await partitionDays();
  assert.equal(days[0], await day(-RETENTION_DAYS), 'the oldest day kept is the retention edge');
  assert.equal(days.at(-1), await day(PARTITION_DAYS_AHEAD));
  const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from realtime.messages`);
  assert.equal(rows[0]!.n, 1, 'only the message inside the window is left');
  // Running it again changes nothing.
  await maintainMessagePartitions(t.db);
  assert.deepEqual(await partitionDays(), days);
});
