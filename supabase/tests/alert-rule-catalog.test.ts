import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ALERT_UNITS } from '../../lib/alerts/alert-schemas.ts';
import { incidentChangeSchema } from '../../lib/alerts/alert-change.ts';
import { addJobMinute, evaluate, markRolledUp } from '../../testkit/database/alerts.ts';
import { FLASH, openTestDb, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * The catalog of alert rules is one list: a rule is its row in public.alert_rules and its
 * measurement, private.alert_measure_<id>. Neither can exist without the other, its parameters
 * are worded in its row for the console, and the console writes a value as the evaluation's
 * sentences do. (Each rule's behaviour is tested in alert-rules.test.ts, which fails when a rule
 * has no test there.)
 */
let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(async () => {
  await t?.close();
});

const MEASURE = 'alert_measure_';

test('every rule has its measurement, and every measurement its rule', async () => {
  const { rows: rules } = await t.db.query<{ id: string }>('select id from public.alert_rules order by id');
  const { rows: measures } = await t.db.query<{ name: string }>(
    `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'private' and p.proname like 'alert\\_measure\\_%'
        and pg_get_function_identity_arguments(p.oid) = 'r alert_rules, p_mark timestamp with time zone, p_jobs jsonb, p_calls jsonb'
      order by 1`,
  );
  assert.ok(rules.length > 0);
  assert.deepEqual(measures.map((m) => m.name.slice(MEASURE.length)), rules.map((r) => r.id));
});

test('every rule measures through the dispatch without error, one row per subject of its scope', async () => {
  const { rows } = await t.db.query<{ id: string; scope: string; subjects: number; models: number }>(
    `select r.id, r.scope, count(v.*)::int as subjects, (select count(*)::int from public.models) as models
       from public.alert_rules r
       cross join lateral private.alert_rule_values(r, now(), '[]'::jsonb, '[]'::jsonb) v
      group by r.id, r.scope order by r.id`,
  );
  assert.equal(rows.length, (await t.db.query('select 1 from public.alert_rules')).rowCount);
  for (const row of rows) assert.equal(row.subjects, row.scope === 'model' ? row.models : 1, row.id);
});

test('a rule without a measurement is refused, and so is one whose parameters are not worded', async () => {
  await assert.rejects(
    t.db.query(
      `insert into public.alert_rules (id, name, description, scope, unit, severity, threshold, threshold_wording)
       values ('made_up', 'Made up', 'Nothing measures it.', 'global', 'jobs', 'warning', 1, 'jobs above')`,
    ),
    (error: { code?: string; message: string }) => error.code === '23514' && /has no measurement/.test(error.message),
  );
  await assert.rejects(
    t.db.query(`update public.alert_rules set window_wording = null where id = 'failure_rate'`),
    (error: { code?: string; constraint?: string }) => error.code === '23514' && error.constraint === 'alert_rules_window_worded',
  );
  await assert.rejects(
    t.db.query(`update public.alert_rules set min_count_wording = 'calls at least' where id = 'queue_stalled'`),
    (error: { code?: string; constraint?: string }) => error.code === '23514' && error.constraint === 'alert_rules_min_count_worded',
  );
});

test('a value is worded once, by the database: the console reads the words from the rows and the topic', async () => {
  // The words themselves, for every unit (what the summaries, the messages and the console show).
  const values = [0, 0.004, 0.5, 1, 1.25, 2.345, 9.99, 10, 61.04, 999.4, 999.6, 1000, 1234.5, 60000, 61234, 123456.789, null];
  const cases = ALERT_UNITS.flatMap((unit) => values.map((value) => ({ unit, value })));
  const { rows: words } = await t.db.query<{ text: string }>(
    `select private.alert_format_value(c ->> 'unit', (c ->> 'value')::numeric) as text
       from jsonb_array_elements($1::jsonb) with ordinality as e(c, n) order by n`,
    [JSON.stringify(cases)],
  );
  assert.deepEqual(
    words.slice(0, 6).map((w) => w.text),
    ['0%', '0%', '0.5%', '1%', '1.25%', '2.35%'],
  );
  assert.deepEqual(
    cases.filter((c) => c.value === 1234.5).map((c) => `${c.unit}: ${words[cases.indexOf(c)]!.text}`),
    ['percent: 1234.5%', 'minutes: 1234.5 min', 'jobs: 1235 jobs', 'ms: 1.2 s', 'usd: $1234.50', 'ratio: 1234.5×'],
  );

  // Every rule's threshold, in its unit.
  const { rows: rules } = await t.db.query<{ id: string; threshold_text: string; expected: string }>(
    'select id, threshold_text, private.alert_format_value(unit, threshold) as expected from public.alert_rules order by id',
  );
  assert.deepEqual(rules.map((r) => `${r.id}: ${r.threshold_text}`), rules.map((r) => `${r.id}: ${r.expected}`));

  // An incident the evaluation opens: its value, peak and threshold in words, the same words its
  // summary uses; its events worded in its unit; the topic's message carries the words too.
  await t.db.query(`update public.alert_rules set enabled = (id = 'failure_rate') where true`);
  await markRolledUp(t.db);
  await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 28, failed: 12 });
  assert.equal((await evaluate(t.db)).opened, 1);
  const [incident] = (
    await t.db.query<{ id: string; summary: string; value_text: string; peak_value_text: string; threshold_text: string }>(
      `select id, summary, value_text, peak_value_text, threshold_text from public.alert_incidents where rule_id = 'failure_rate'`,
    )
  ).rows;
  assert.deepEqual([incident!.value_text, incident!.peak_value_text, incident!.threshold_text], ['30%', '30%', '10%']);
  assert.ok(incident!.summary.startsWith('30% of 40 finished jobs failed'), incident!.summary);
  const { rows: events } = await t.db.query<{ kind: string; value_text: string | null }>(
    'select kind, value_text from public.alert_incident_events where incident_id = $1 order by id',
    [incident!.id],
  );
  assert.deepEqual(events[0], { kind: 'opened', value_text: '30%' });
  const { rows: messages } = await t.db.query<{ payload: unknown }>(
    `select payload from realtime.messages where topic = 'admin:alerts' and event = 'incident_changed' order by inserted_at desc, id desc limit 1`,
  );
  const change = incidentChangeSchema.parse(messages[0]!.payload);
  assert.deepEqual([change.value_text, change.threshold_text], ['30%', '10%']);
});
