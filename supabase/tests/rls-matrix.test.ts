import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { ACTORS, as, claim, createJob, FLASH, identity, openTestDb, query, type Actor, type TestDb } from '../../testkit/database/fixtures.ts';

let t: TestDb;
before(async () => {
  t = await openTestDb();
  // Something in every table, for alice and for bob.
  const a = await createJob(t.db, 'alice');
  const b = await createJob(t.db, 'bob');
  const [running] = await claim(t.db);
  assert.equal(running!.id, a.id);
  await query(t.db, 'service', `select public.record_provider_call($1, now(), 1200, 'ok', 200, $2, 1)`, [FLASH, a.id]);
  await query(t.db, 'support', `select public.grant_credits($1, 3, 'rls matrix')`, [DEMO_USERS.bob.id]);
  await query(t.db, 'service', `select public.record_provider_call($1, now(), 900, 'ok', 200, $2, 1)`, [FLASH, b.id]);
  // Rollups only cover finished minutes; one row each, as a rollup an hour ago would have written.
  await t.db.query(`insert into public.metrics_job_minute (minute, model_id, created) values (date_trunc('minute', now()) - interval '1 hour', $1, 1)`, [FLASH]);
  await t.db.query(
    `insert into public.metrics_provider_minute (minute, model_id, calls, latency_hist)
     values (date_trunc('minute', now()) - interval '1 hour', $1, 1, array_fill(0, array[40]))`,
    [FLASH],
  );
  await t.db.query(
    `insert into public.metrics_provider_hour (hour, model_id, calls, latency_hist)
     values (date_trunc('hour', now()) - interval '2 hours', $1, 1, array_fill(0, array[40]))`,
    [FLASH],
  );
  await t.db.query(
    `insert into public.metrics_job_hour (hour, model_id, created) values (date_trunc('hour', now()) - interval '2 hours', $1, 1)`,
    [FLASH],
  );
  // A prune pass records its run on each policy and samples every table's size.
  await query(t.db, 'service', 'select public.prune_expired_data()');
  // Alerts: the seeded rules and evaluation state, a channel with a test message queued, and
  // an incident with one timeline row, as the evaluation would have written it.
  const [channel] = await query(t.db, 'admin', `select * from public.create_alert_channel('ops', 'slack', 'https://hooks.slack.com/services/T0/B0/x', 'rls matrix')`);
  await query(t.db, 'admin', 'select public.send_test_alert($1)', [channel!.id]);
  const { rows: incident } = await t.db.query(
    `insert into public.alert_incidents (rule_id, severity, title, summary, unit, threshold)
     values ('failure_rate', 'critical', 'Job failure rate', 'rls matrix', 'percent', 10) returning id`,
  );
  await t.db.query(`insert into public.alert_incident_events (incident_id, kind, actor_role) values ($1, 'opened', 'evaluator')`, [incident[0].id]);
});
after(async () => {
  await t.close();
});

type Visibility = 'denied' | 'none' | 'own' | 'all';

/** Who sees what, per table. `own`: rows of the caller only (and at least one). */
const TABLES: Record<string, { owner?: string; expect: Record<Actor, Visibility> }> = {
  jobs: { owner: 'user_id', expect: { anon: 'denied', alice: 'own', bob: 'own', support: 'all', admin: 'all', service: 'all' } },
  job_events: { owner: 'user_id', expect: { anon: 'denied', alice: 'own', bob: 'own', support: 'all', admin: 'all', service: 'all' } },
  provider_calls: { owner: 'user_id', expect: { anon: 'denied', alice: 'own', bob: 'own', support: 'all', admin: 'all', service: 'all' } },
  credit_accounts: { owner: 'user_id', expect: { anon: 'denied', alice: 'own', bob: 'own', support: 'all', admin: 'all', service: 'all' } },
  credit_ledger: { owner: 'user_id', expect: { anon: 'denied', alice: 'own', bob: 'own', support: 'all', admin: 'all', service: 'all' } },
  audit_log: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  models: { expect: { anon: 'denied', alice: 'all', bob: 'all', support: 'all', admin: 'all', service: 'all' } },
  model_health: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  metrics_job_minute: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  metrics_provider_minute: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  metrics_provider_hour: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  metrics_job_hour: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  retention_policies: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  retention_table_samples: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  metrics_rollup_state: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_rules: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_incidents: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_incident_events: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_channels: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_deliveries: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
  alert_evaluation_state: { expect: { anon: 'denied', alice: 'none', bob: 'none', support: 'all', admin: 'all', service: 'all' } },
};

/** A plain column of each table, for an UPDATE that would change nothing if it were allowed. */
const UPDATABLE: Record<string, string> = {
  jobs: 'prompt',
  job_events: 'detail',
  provider_calls: 'outcome',
  credit_accounts: 'updated_at',
  credit_ledger: 'note',
  audit_log: 'reason',
  models: 'display_name',
  model_health: 'updated_at',
  metrics_job_minute: 'minute',
  metrics_provider_minute: 'minute',
  metrics_provider_hour: 'hour',
  metrics_job_hour: 'hour',
  retention_policies: 'keep_days',
  retention_table_samples: 'bytes',
  metrics_rollup_state: 'rolled_until',
  alert_rules: 'name',
  alert_incidents: 'summary',
  alert_incident_events: 'note',
  alert_channels: 'name',
  alert_deliveries: 'payload',
  alert_evaluation_state: 'last_result',
};

async function visibility(actor: Actor, table: string, owner?: string): Promise<Visibility> {
  const total = Number((await t.db.query(`select count(*) from public.${table}`)).rows[0].count);
  assert.ok(total > 0, `fixture has rows in ${table}`);
  try {
    const rows = await query(t.db, actor, `select ${owner ? owner : 'null'} as owner from public.${table}`);
    if (rows.length === 0) return 'none';
    const me = actor === 'alice' || actor === 'bob' ? DEMO_USERS[actor].id : undefined;
    if (owner && me && rows.every((r) => r.owner === me)) return 'own';
    if (rows.length === total) return 'all';
    return `some (${rows.length}/${total})` as Visibility;
  } catch (error) {
    if ((error as pg.DatabaseError).code === '42501') return 'denied';
    throw error;
  }
}

/** Runs `sql` as `actor` in a transaction that is always rolled back; returns the SQLSTATE or 'ok'. */
async function attempt(actor: Actor, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await as(t.db, actor, async (c) => {
      await c.query(sql, params);
      throw Object.assign(new Error('rollback'), { code: 'ok' });
    });
  } catch (error) {
    return (error as pg.DatabaseError).code ?? 'unknown';
  }
  return 'unreachable';
}

describe('RLS matrix: reads', () => {
  test('the matrix lists every table in schema public, and each has RLS on', async () => {
    const { rows } = await t.db.query<{ name: string; rls: boolean }>(
      `select c.relname as name, c.relrowsecurity as rls from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`,
    );
    assert.deepEqual(rows.map((r) => r.name), Object.keys(TABLES).sort());
    assert.deepEqual(rows.filter((r) => !r.rls).map((r) => r.name), []);
  });

  for (const [table, { owner, expect }] of Object.entries(TABLES)) {
    test(`${table}: ${ACTORS.map((a) => `${a}=${expect[a]}`).join(' ')}`, async () => {
      const seen: Record<string, Visibility> = {};
      for (const actor of ACTORS) seen[actor] = await visibility(actor, table, owner);
      assert.deepEqual(seen, expect);
    });
  }
});

describe('RLS matrix: no role writes a table directly', () => {
  for (const table of Object.keys(TABLES)) {
    test(`${table}: insert, update, delete and truncate are refused for every API role`, async () => {
      for (const actor of ACTORS) {
        for (const sql of [
          `insert into public.${table} default values`,
          `update public.${table} set ${UPDATABLE[table]} = ${UPDATABLE[table]}`,
          `delete from public.${table}`,
          `truncate public.${table}`,
        ]) {
          assert.equal(await attempt(actor, sql), '42501', `${actor}: ${sql}`);
        }
      }
    });
  }
});

const NIL = '00000000-0000-4000-8000-000000000000';
/** Each public function with arguments that get past input validation, and who may call it. */
const FUNCTIONS: [string, string, unknown[], Actor[]][] = [
  ['create_job', `select public.create_job($1, 'x')`, [FLASH], ['alice', 'bob', 'support', 'admin']],
  ['cancel_jobs', `select * from public.cancel_jobs($1::uuid[], 'r')`, [[NIL]], ['alice', 'bob', 'admin']],
  ['delete_job', `select public.delete_job($1)`, [NIL], ['alice', 'bob']],
  ['generate_again', `select public.generate_again($1)`, [NIL], ['alice', 'bob']],
  ['retry_jobs', `select * from public.retry_jobs($1::uuid[], 'r')`, [[NIL]], ['admin']],
  ['requeue_jobs', `select * from public.requeue_jobs($1::uuid[], 'r')`, [[NIL]], ['admin']],
  ['fail_and_refund_jobs', `select * from public.fail_and_refund_jobs($1::uuid[], 'r')`, [[NIL]], ['support', 'admin']],
  ['grant_credits', `select public.grant_credits($1, 1, 'r')`, [DEMO_USERS.bob.id], ['support', 'admin']],
  ['job_health', `select public.job_health('1 hour', '5 minutes')`, [], ['support', 'admin', 'service']],
  ['claim_jobs', `select * from public.claim_jobs('w', 1)`, [], ['service']],
  ['heartbeat_job', `select public.heartbeat_job($1, $1)`, [NIL], ['service']],
  ['complete_job', `select public.complete_job($1, $1)`, [NIL], ['service']],
  ['complete_jobs', `select * from public.complete_jobs(array[$1::uuid], array[$1::uuid])`, [NIL], ['service']],
  ['fail_job', `select public.fail_job($1, $1, 'x', 'y')`, [NIL], ['service']],
  ['reap_expired_jobs', `select public.reap_expired_jobs()`, [], ['service']],
  ['rollup_metrics', `select public.rollup_metrics()`, [], ['service']],
  ['prune_expired_data', `select public.prune_expired_data()`, [], ['service']],
  ['set_retention_window', `select public.set_retention_window('job_events', 30, 'r')`, [], ['admin']],
  ['retention_status', `select public.retention_status()`, [], ['support', 'admin']],
  ['record_provider_call', `select public.record_provider_call($1, now(), 10, 'ok')`, [FLASH], ['service']],
  ['acquire_model_budget', `select public.acquire_model_budget($1)`, [FLASH], ['service']],
  ['set_model_verification', `select public.set_model_verification($1, 'verified')`, [FLASH], ['service']],
  ['disable_model', `select public.disable_model($1, 'r')`, [FLASH], ['admin', 'service']],
  ['set_model_paused', `select public.set_model_paused($1, true, 'r')`, [FLASH], ['admin']],
  ['enable_model', `select public.enable_model($1, 'r')`, [FLASH], ['admin']],
  ['request_model_verification', `select public.request_model_verification($1, 'r')`, [FLASH], ['admin']],
  ['release_jobs', `select public.release_jobs(array[$1::uuid], array[$1::uuid])`, [NIL], ['service']],
  ['find_users', `select * from public.find_users('alice')`, [], ['support', 'admin']],
  ['get_user_profile', `select * from public.get_user_profile($1)`, [DEMO_USERS.bob.id], ['support', 'admin']],
  ['job_queue_position', `select public.job_queue_position($1)`, [NIL], ['alice', 'bob', 'support', 'admin']],
  ['app_role', `select public.app_role()`, [], ['anon', 'alice', 'bob', 'support', 'admin', 'service']],
  ['claim_object_erasures', `select * from public.claim_object_erasures(1)`, [], ['service']],
  ['finish_object_erasures', `select public.finish_object_erasures(array[1]::bigint[])`, [], ['service']],
  ['evaluate_alerts', `select public.evaluate_alerts()`, [], ['service']],
  ['update_alert_rule', `select public.update_alert_rule('failure_rate', 'r')`, [], ['admin']],
  ['silence_alert_rule', `select public.silence_alert_rule('failure_rate', 0, 'r')`, [], ['admin']],
  ['acknowledge_alert_incident', `select public.acknowledge_alert_incident(0, 'r')`, [], ['admin']],
  ['add_alert_incident_note', `select public.add_alert_incident_note(0, 'r')`, [], ['admin']],
  ['create_alert_channel', `select public.create_alert_channel('n', 'slack', 'https://hooks.slack.com/services/x', 'r')`, [], ['admin']],
  ['update_alert_channel', `select public.update_alert_channel($1, 'r')`, [NIL], ['admin']],
  ['delete_alert_channel', `select public.delete_alert_channel($1, 'r')`, [NIL], ['admin']],
  ['send_test_alert', `select public.send_test_alert($1)`, [NIL], ['admin']],
];

describe('RLS matrix: functions', () => {
  test('the matrix lists every function in schema public', async () => {
    const { rows } = await t.db.query<{ name: string }>(
      `select distinct p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype order by 1`,
    );
    assert.deepEqual(rows.map((r) => r.name), FUNCTIONS.map(([name]) => name).sort());
  });

  for (const [name, sql, params, allowed] of FUNCTIONS) {
    test(`${name}: only ${allowed.join(', ')}`, async () => {
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      for (const actor of ACTORS) {
        got[actor] = (await attempt(actor, sql, params)) === '42501' ? 'denied' : 'allowed';
        want[actor] = allowed.includes(actor) ? 'allowed' : 'denied';
      }
      assert.deepEqual(got, want);
    });
  }

  test('the private schema is out of reach of every API role', async () => {
    for (const actor of ACTORS) {
      assert.equal(await attempt(actor, `select private.refund_job(null, 'x')`), '42501', actor);
      // What the alert senders call: it hands out channel URLs and signs with their secrets.
      assert.equal(await attempt(actor, `select * from private.take_alert_deliveries('local')`), '42501', actor);
      // The job trace context's helpers: only the insert trigger uses them.
      assert.equal(await attempt(actor, `select private.new_traceparent()`), '42501', actor);
      assert.equal(await attempt(actor, `select private.valid_traceparent('x')`), '42501', actor);
      assert.equal(await attempt(actor, `select private.uuid_v7()`), '42501', actor);
      // What the retention pass calls: it queues any user's images for erasure.
      assert.equal(await attempt(actor, `select * from private.expire_result_images('-infinity', now(), 1)`), '42501', actor);
      // The admin:jobs message's builders: only the jobs triggers and complete_jobs use them.
      assert.equal(await attempt(actor, `select private.admin_job_entry(null, null, null, null, null, null, null, null, null)`), '42501', actor);
      assert.equal(await attempt(actor, `select * from private.admin_jobs_payloads(array[]::jsonb[])`), '42501', actor);
      // The timeline detail and the queue signal: only the jobs trigger and claim_jobs use them.
      assert.equal(await attempt(actor, `select private.job_event_detail(null, null, null, null, null, null, null)`), '42501', actor);
      assert.equal(await attempt(actor, `select * from private.queue_moved_signals(array['gemini-2.5-flash-image'])`), '42501', actor);
    }
  });

  test('app_role reads the role from app_metadata, never from user_metadata', async () => {
    const claims = { sub: DEMO_USERS.alice.id, role: 'authenticated', user_metadata: { role: 'admin' } };
    const role = await as(t.db, { role: 'authenticated', claims }, async (c) => (await c.query('select public.app_role() as role')).rows[0].role);
    assert.equal(role, 'user');
  });
});

/**
 * Private Realtime topics: who may join (read) and who may send (write), from the policies on
 * realtime.messages evaluated the way Realtime does at join (realtime.local_topic_access, the
 * local server's probe). service_role bypasses RLS, as on hosted Supabase, and only the server
 * side holds it.
 */
const ALICE_TOPIC = `user:${DEMO_USERS.alice.id}:jobs`;
const BOB_TOPIC = `user:${DEMO_USERS.bob.id}:jobs`;
const TOPIC_POLICIES = ['admin_alerts_topic_read', 'admin_jobs_topic_read', 'queue_topic_read', 'user_jobs_topic_read'];
const TOPICS: Record<string, Record<Actor, 'join' | 'refused' | 'join, send'>> = {
  'admin:jobs': { anon: 'refused', alice: 'refused', bob: 'refused', support: 'join', admin: 'join', service: 'join, send' },
  'admin:alerts': { anon: 'refused', alice: 'refused', bob: 'refused', support: 'join', admin: 'join', service: 'join, send' },
  [`queue:${FLASH}`]: { anon: 'refused', alice: 'join', bob: 'join', support: 'join', admin: 'join', service: 'join, send' },
  [ALICE_TOPIC]: { anon: 'refused', alice: 'join', bob: 'refused', support: 'refused', admin: 'refused', service: 'join, send' },
  [BOB_TOPIC]: { anon: 'refused', alice: 'refused', bob: 'join', support: 'refused', admin: 'refused', service: 'join, send' },
};

describe('RLS matrix: private Realtime topics', () => {
  test('the matrix lists every policy on realtime.messages, and none lets a client send', async () => {
    const { rows } = await t.db.query<{ name: string; cmd: string }>(
      `select policyname as name, cmd from pg_policies where schemaname = 'realtime' and tablename = 'messages' order by 1`,
    );
    assert.deepEqual(rows.map((r) => r.name), TOPIC_POLICIES);
    assert.deepEqual(rows.filter((r) => r.cmd !== 'SELECT'), []);
  });

  for (const [topic, expect] of Object.entries(TOPICS)) {
    test(`${topic.replace(DEMO_USERS.alice.id, '<alice>').replace(DEMO_USERS.bob.id, '<bob>')}: ${ACTORS.map((a) => `${a}=${expect[a]}`).join(' ')}`, async () => {
      const seen: Record<string, string> = {};
      for (const actor of ACTORS) {
        const { role, claims } = identity(actor);
        const { rows } = await t.db.query(`select broadcast_read, broadcast_write from realtime.local_topic_access($1, $2, $3, true)`, [
          role,
          JSON.stringify(claims),
          topic,
        ]);
        const { broadcast_read: read, broadcast_write: write } = rows[0];
        seen[actor] = read && write ? 'join, send' : read ? 'join' : write ? 'send' : 'refused';
      }
      assert.deepEqual(seen, expect);
    });
  }
});
