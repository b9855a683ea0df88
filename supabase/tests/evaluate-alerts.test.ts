import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import {
  addJobMinute,
  allowLoopbackTargets,
  clearRollups,
  createChannel,
  deliveries,
  evaluate,
  incidentEvents,
  incidents,
  markRolledUp,
  setRule,
  type Channel,
} from '../../testkit/database/alerts.ts';
import { FLASH, openTestDb, query, rejects, type TestDb } from '../../testkit/database/fixtures.ts';

/**
 * An incident's life across evaluation runs, driven by the global failure-rate rule: opened
 * once, kept while firing, cleared and fired again within the hold-down, resolved once after
 * it; one 'opened' and one 'resolved' message per channel, never more, including when
 * evaluations race. Then what staff do to incidents and rules, each audited.
 */
let t: TestDb;
let webhook: Channel;
beforeEach(async () => {
  t = await openTestDb();
  await markRolledUp(t.db);
  await allowLoopbackTargets(t.db);
  webhook = await createChannel(t.db, { name: 'on-call webhook', kind: 'webhook', url: 'http://127.0.0.1:9/hook' });
  await createChannel(t.db, { name: '#incidents', kind: 'slack', url: 'https://hooks.slack.com/services/T0/B0/xyz', minSeverity: 'critical' });
});
afterEach(async () => {
  await t.close();
});

/** 30% of 40 jobs failed a minute ago: failure_rate (and model_failure_rate) fire. */
const failing = () => addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 28, failed: 12 });
/** Only the global rule, so the counts below are about one incident. */
const onlyFailureRate = () => t.db.query(`update public.alert_rules set enabled = (id = 'failure_rate') where true`);
/** The hold-down has passed: the incident cleared `minutes` ago. */
const clearedAgo = (minutes: number) =>
  t.db.query(`update public.alert_incidents set clear_since = now() - make_interval(mins => $1) where status = 'open'`, [minutes]);

const sent = async () => (await deliveries(t.db)).map((d) => `${d.event}:${d.channel_id === webhook.id ? 'webhook' : 'slack'}:${d.incident_id}`);

describe('the life of an incident', () => {
  test('opened once, kept while firing, cleared, fired again, resolved once after the hold-down', async () => {
    await onlyFailureRate();
    await failing();
    const { duration_ms, ...counts } = await evaluate(t.db);
    assert.deepEqual(counts, { opened: 1, kept: 0, cleared: 0, resolved: 0, queued: 2 });
    assert.ok(duration_ms! >= 0);
    const [incident] = await incidents(t.db);
    assert.equal(incident!.status, 'open');
    assert.equal(incident!.notify, true);

    // Firing again and again: the same incident, its value recorded, nothing sent again.
    await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 20, failed: 20 });
    const kept = await evaluate(t.db);
    assert.deepEqual([kept.opened, kept.kept, kept.queued], [0, 1, 0]);
    assert.equal(Number((await incidents(t.db))[0]!.value), 50);
    assert.equal(Number((await t.db.query('select peak_value from public.alert_incidents')).rows[0].peak_value), 50);

    // Clear: the hold-down starts; firing within it continues the incident.
    await clearRollups(t.db);
    assert.equal((await evaluate(t.db)).cleared, 1);
    assert.ok((await incidents(t.db))[0]!.clear_since);
    await failing();
    await evaluate(t.db);
    assert.equal((await incidents(t.db))[0]!.clear_since, null);

    // Clear for less than the hold-down (5 minutes): still open.
    await clearRollups(t.db);
    await evaluate(t.db);
    await clearedAgo(4);
    assert.equal((await evaluate(t.db)).resolved, 0);
    await clearedAgo(5);
    assert.deepEqual([(await evaluate(t.db)).resolved, (await incidents(t.db))[0]!.status], [1, 'resolved']);
    // Evaluating on changes nothing: it is resolved once.
    assert.deepEqual([(await evaluate(t.db)).resolved, (await incidents(t.db)).length], [0, 1]);

    assert.deepEqual(
      (await incidentEvents(t.db, incident!.id)).map((e) => e.kind),
      ['opened', 'value', 'cleared', 'firing_again', 'cleared', 'value', 'resolved'],
    );
    assert.deepEqual(await sent(), [
      `opened:webhook:${incident!.id}`, `opened:slack:${incident!.id}`,
      `resolved:webhook:${incident!.id}`, `resolved:slack:${incident!.id}`,
    ]);

    // The condition returns: a new incident, with its own messages.
    await failing();
    assert.equal((await evaluate(t.db)).opened, 1);
    assert.deepEqual((await incidents(t.db)).map((i) => i.status), ['resolved', 'open']);
    assert.equal((await deliveries(t.db)).length, 6);
  });

  test('a hold-down of 0 resolves at the first clear evaluation', async () => {
    await onlyFailureRate();
    await setRule(t.db, 'failure_rate', { hold_down_minutes: 0 });
    await failing();
    await evaluate(t.db);
    await clearRollups(t.db);
    const result = await evaluate(t.db);
    assert.deepEqual([result.cleared, result.resolved], [1, 1]);
  });

  test('a rule disabled while its incident is open resolves it after the hold-down, with its resolved message', async () => {
    await onlyFailureRate();
    await failing();
    await evaluate(t.db);
    await setRule(t.db, 'failure_rate', { enabled: false, hold_down_minutes: 0 });
    assert.equal((await evaluate(t.db)).resolved, 1);
    assert.deepEqual((await deliveries(t.db)).map((d) => d.event), ['opened', 'opened', 'resolved', 'resolved']);
  });

  test('a channel gets only the severities it asked for; a disabled one gets nothing', async () => {
    await t.db.query(`update public.alert_rules set enabled = (id = 'failure_rate'), severity = 'warning' where true`);
    await failing();
    await evaluate(t.db);
    assert.deepEqual(await sent(), [`opened:webhook:${(await incidents(t.db))[0]!.id}`], 'slack takes critical only');

    await query(t.db, 'admin', `select public.update_alert_channel($1, 'pause it', p_enabled => false)`, [webhook.id]);
    await setRule(t.db, 'failure_rate', { hold_down_minutes: 0 });
    await clearRollups(t.db);
    await evaluate(t.db);
    assert.equal((await deliveries(t.db)).length, 1, 'no resolved message for a disabled channel');
  });

  test('a silenced rule still opens its incident, but nothing is sent for it', async () => {
    await onlyFailureRate();
    await query(t.db, 'admin', `select public.silence_alert_rule('failure_rate', 60, 'known outage, on it')`);
    await failing();
    assert.equal((await evaluate(t.db)).queued, 0);
    const [incident] = await incidents(t.db);
    assert.equal(incident!.notify, false);
    assert.deepEqual(await incidentEvents(t.db, incident!.id), [
      { kind: 'opened', value: '30.00', note: 'the rule is silenced: nothing is sent outward', actor_role: 'evaluator' },
    ]);
    await setRule(t.db, 'failure_rate', { hold_down_minutes: 0 });
    await clearRollups(t.db);
    await evaluate(t.db);
    assert.deepEqual(await deliveries(t.db), []);
  });
});

describe('racing evaluations', () => {
  test('an evaluation that starts while another runs skips; the incident and its messages exist once', async () => {
    await onlyFailureRate();
    await failing();
    const first = new pg.Client({ connectionString: t.database.url });
    const second = new pg.Client({ connectionString: t.database.url });
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('begin');
      const a = (await first.query('select public.evaluate_alerts() as r')).rows[0].r;
      // The first has opened the incident but not committed: the second must not open it again.
      const b = (await second.query('select public.evaluate_alerts() as r')).rows[0].r;
      await first.query('commit');
      assert.equal(a.opened, 1);
      assert.deepEqual(b, { skipped: 'another evaluation is running' });
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
    assert.equal((await incidents(t.db)).length, 1);
    assert.equal((await deliveries(t.db)).length, 2);
  });

  test('eight evaluations at once, over and over, open one incident and queue each message once', async () => {
    await onlyFailureRate();
    await failing();
    const pool = new pg.Pool({ connectionString: t.database.url, max: 8 });
    try {
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(Array.from({ length: 8 }, () => pool.query('select public.evaluate_alerts() as r')));
        assert.ok(results.some((r) => r.rows[0].r.skipped === undefined), 'at least one evaluated');
      }
    } finally {
      await pool.end();
    }
    assert.equal((await incidents(t.db)).length, 1);
    assert.deepEqual((await deliveries(t.db)).map((d) => d.event), ['opened', 'opened']);
  });

  test('a second open incident for the same rule and subject is refused by the table itself', async () => {
    await onlyFailureRate();
    await failing();
    await evaluate(t.db);
    await rejects(
      t.db.query(`insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold)
                  values ('failure_rate', '', 'critical', 'x', 'x', 'percent', 10)`),
      '23505',
      /alert_incidents_one_open/,
    );
  });
});

describe('staff actions on incidents', () => {
  test('an admin acknowledges once, with the reason in the timeline and the audit log', async () => {
    await onlyFailureRate();
    await failing();
    await evaluate(t.db);
    const [incident] = await incidents(t.db);
    const ack = () => query(t.db, 'admin', 'select * from public.acknowledge_alert_incident($1, $2)', [incident!.id, 'looking into it']);
    const [acked] = await ack();
    assert.ok(acked!.acknowledged_at);
    await ack();
    const events = (await incidentEvents(t.db, incident!.id)).filter((e) => e.kind === 'acknowledged');
    assert.deepEqual(events, [{ kind: 'acknowledged', value: null, note: 'looking into it', actor_role: 'admin' }]);
    const { rows } = await t.db.query(`select action, reason, actor_role, detail from public.audit_log where action = 'acknowledge_incident'`);
    assert.deepEqual(rows, [{ action: 'acknowledge_incident', reason: 'looking into it', actor_role: 'admin',
      detail: { incident_id: Number(incident!.id), rule_id: 'failure_rate', subject: '' } }]);
  });

  test('support reads incidents but cannot acknowledge or note them; a resolved incident cannot be acknowledged', async () => {
    await onlyFailureRate();
    await setRule(t.db, 'failure_rate', { hold_down_minutes: 0 });
    await failing();
    await evaluate(t.db);
    const [incident] = await incidents(t.db);
    assert.equal((await query(t.db, 'support', 'select id from public.alert_incidents')).length, 1);
    await rejects(query(t.db, 'support', `select public.acknowledge_alert_incident($1, 'x')`, [incident!.id]), '42501', /requires the admin role/);
    await rejects(query(t.db, 'support', `select public.add_alert_incident_note($1, 'x')`, [incident!.id]), '42501', /requires the admin role/);
    await clearRollups(t.db);
    await evaluate(t.db);
    await rejects(query(t.db, 'admin', `select public.acknowledge_alert_incident($1, 'x')`, [incident!.id]), '22023', /is resolved/);
    // A note is still welcome after the fact.
    await query(t.db, 'admin', `select public.add_alert_incident_note($1, 'root cause: a bad deploy')`, [incident!.id]);
    assert.equal((await incidentEvents(t.db, incident!.id)).at(-1)!.note, 'root cause: a bad deploy');
    await rejects(query(t.db, 'admin', `select public.add_alert_incident_note($1, '  ')`, [incident!.id]), '22023', 'a note is required');
    await rejects(query(t.db, 'admin', 'select public.add_alert_incident_note($1, $2)', [incident!.id, 'x'.repeat(601)]), '22023',
      'note is too long: 601 characters, the limit is 500');
    // Acknowledging takes a reason, and says so.
    await rejects(query(t.db, 'admin', 'select public.acknowledge_alert_incident($1, $2)', [incident!.id, 'x'.repeat(501)]), '22023',
      'reason is too long: 501 characters, the limit is 500');
    await rejects(query(t.db, 'admin', `select public.add_alert_incident_note(0, 'x')`), 'PT404', 'incident not found');
  });
});

describe('staff actions on rules', () => {
  test('update_alert_rule changes what is given and audits the rule before and after', async () => {
    const [rule] = await query(t.db, 'admin', `select * from public.update_alert_rule('failure_rate', 'too noisy at night',
      p_threshold => 15, p_min_count => 50)`);
    assert.deepEqual([Number(rule!.threshold), rule!.min_count, rule!.window_minutes], [15, 50, 5]);
    const { rows } = await t.db.query(`select reason, before, after from public.audit_log where action = 'update_alert_rule'`);
    assert.equal(rows[0].reason, 'too noisy at night');
    assert.deepEqual([rows[0].before.threshold, rows[0].after.threshold, rows[0].after.min_count], [10, 15, 50]);
  });

  test('update_alert_rule refuses what the rule does not have, values out of range, and non-admins', async () => {
    await rejects(query(t.db, 'admin', `select public.update_alert_rule('queue_stalled', 'r', p_window_minutes => 10)`), '22023', 'rule "queue_stalled" has no window');
    await rejects(query(t.db, 'admin', `select public.update_alert_rule('failure_rate', 'r', p_severity => 'page')`), '22023', /severity/);
    await rejects(query(t.db, 'admin', `select public.update_alert_rule('failure_rate', 'r', p_window_minutes => 0)`), '22023', /window/);
    await rejects(query(t.db, 'admin', `select public.update_alert_rule('nope', 'r')`), 'PT404', 'alert rule not found');
    await rejects(query(t.db, 'admin', `select public.update_alert_rule('failure_rate', '')`), '22023', 'a reason is required');
    await rejects(query(t.db, 'support', `select public.update_alert_rule('failure_rate', 'r', p_enabled => false)`), '42501', /admin/);
  });

  test('silence_alert_rule mutes for a while and 0 lifts it, both audited', async () => {
    const [silenced] = await query(t.db, 'admin', `select * from public.silence_alert_rule('no_worker', 30, 'deploying')`);
    assert.ok(silenced!.silenced_until);
    assert.equal(silenced!.silence_reason, 'deploying');
    const [lifted] = await query(t.db, 'admin', `select * from public.silence_alert_rule('no_worker', 0, 'deploy done')`);
    assert.equal(lifted!.silenced_until, null);
    const { rows } = await t.db.query(`select action from public.audit_log where action like '%silence%' order by id`);
    assert.deepEqual(rows.map((r) => r.action), ['silence_alert_rule', 'unsilence_alert_rule']);
    await rejects(query(t.db, 'admin', `select public.silence_alert_rule('no_worker', 10081, 'r')`), '22023', /minutes/);
  });
});
