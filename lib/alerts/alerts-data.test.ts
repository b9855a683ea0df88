import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '@/lib/supabase/database';
import { addJobMinute, evaluate, markRolledUp } from '../../testkit/database/alerts.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH } from '../../testkit/database/fixtures.ts';
import { until } from '../../testkit/wait.ts';
import { parseAdminAlertChange } from './alert-change.ts';
import { fetchAlertChannels } from './alert-channels-query.ts';
import { fetchAlertDeliveries } from './alert-deliveries-query.ts';
import { fetchAlertRules } from './alert-rules-query.ts';
import { createAlertChannel, deleteAlertChannel, sendTestAlert, updateAlertChannel } from './channel-mutations.ts';
import { fetchEvaluationState } from './evaluation-state-query.ts';
import { runIncidentAction } from './incident-actions.ts';
import { fetchIncident, INCIDENT_VALUES_SHOWN } from './incident-query.ts';
import { fetchOpenIncidents } from './open-incidents-query.ts';
import { RESOLVED_INCIDENTS } from './incidents-patch.ts';
import { fetchResolvedIncidents } from './resolved-incidents-query.ts';
import { silenceAlertRule, updateAlertRule } from './rule-mutations.ts';

/**
 * The console's alerting data layer against the real gateway and Postgres, signed in as the
 * demo accounts: every query parses what the database really returns, every mutation reaches
 * its SQL function, support reads and is refused changes, end users see nothing.
 */
let stack: TestStack;
let admin: DatabaseClient;
let support: DatabaseClient;
let alice: DatabaseClient;
const SECRET = 'console-data-test-secret-0123456789abcdef';

const signIn = async (user: keyof typeof DEMO_USERS) => (await signedInClient(stack, user)).client;

before(async () => {
  stack = await startTestStack();
  [admin, support, alice] = await Promise.all([signIn('admin'), signIn('support'), signIn('alice')]);
  await stack.db.query(`update public.alert_rules set enabled = (id = 'model_failure_rate') where true`);
  await markRolledUp(stack.db);
});
after(async () => {
  await Promise.all([admin, support, alice].map((c) => c?.auth.signOut()));
  await stack?.stop();
});

describe('rules', () => {
  test('every role but staff sees none; staff see all eleven, parsed', async () => {
    assert.equal((await fetchAlertRules(support)).length, 11);
    assert.deepEqual(await fetchAlertRules(alice), []);
  });

  test('an admin edits and silences a rule; support is refused with the database\'s words', async () => {
    await updateAlertRule(admin, { ruleId: 'latency_p95', reason: 'slower model rolled out', threshold: 90000, windowMinutes: 15 });
    const rule = (await fetchAlertRules(admin)).find((r) => r.id === 'latency_p95')!;
    assert.deepEqual([rule.threshold, rule.window_minutes], [90000, 15]);
    await silenceAlertRule(admin, { ruleId: 'latency_p95', minutes: 30, reason: 'deploying' });
    assert.ok((await fetchAlertRules(admin)).find((r) => r.id === 'latency_p95')!.silenced_until);
    await assert.rejects(updateAlertRule(support, { ruleId: 'latency_p95', reason: 'x', enabled: false }), /requires the admin role/);
    await assert.rejects(updateAlertRule(admin, { ruleId: 'queue_stalled', reason: 'x', windowMinutes: 3 }), /has no window/);
    await assert.rejects(silenceAlertRule(admin, { ruleId: 'latency_p95', minutes: 30, reason: ' ' }), /A reason is required/);
  });
});

describe('channels', () => {
  test('an admin adds a channel and sees only hints of its URL and secret; support reads the same', async () => {
    await createAlertChannel(admin, {
      name: 'On-call',
      kind: 'webhook',
      url: 'https://hooks.example.com/jobhealth/abcd',
      signingSecret: SECRET,
      minSeverity: 'critical',
      reason: 'page the on-call',
    });
    for (const client of [admin, support]) {
      const [channel] = await fetchAlertChannels(client);
      assert.deepEqual(
        { name: channel!.name, url: channel!.url_hint, secret: channel!.secret_hint, min: channel!.min_severity },
        { name: 'On-call', url: 'https://hooks.example.com/…abcd', secret: '…cdef', min: 'critical' },
      );
    }
    assert.deepEqual(await fetchAlertChannels(alice), []);
  });

  test('a bad URL comes back as the database\'s clear error; so does a short secret', async () => {
    const form = { name: 'x', kind: 'webhook' as const, signingSecret: SECRET, minSeverity: 'warning' as const, reason: 'r' };
    await assert.rejects(createAlertChannel(admin, { ...form, url: 'http://hooks.example.com/x' }), /must use https/);
    await assert.rejects(createAlertChannel(admin, { ...form, url: 'https://192.168.0.10/x' }), /private, link-local or reserved/);
    await assert.rejects(createAlertChannel(admin, { ...form, url: 'https://hooks.example.com/x', signingSecret: 'short' }), /at least 32 characters/);
    // The name of the channel the first test added, in another case.
    await assert.rejects(
      createAlertChannel(admin, { ...form, name: 'on-call', url: 'https://hooks.example.com/x' }),
      { message: 'a channel named "on-call" already exists; choose another name' },
    );
  });

  test('a test message shows in the delivery log with its channel; edits and deletion go through', async () => {
    const [channel] = await fetchAlertChannels(admin);
    const deliveryId = await sendTestAlert(admin, channel!.id);
    const [logged] = await fetchAlertDeliveries(support);
    assert.deepEqual(
      { id: logged!.id, event: logged!.event, status: logged!.status, channel: logged!.alert_channels.name, incident: logged!.alert_incidents },
      { id: deliveryId, event: 'test', status: 'pending', channel: 'On-call', incident: null },
    );
    await assert.rejects(sendTestAlert(support, channel!.id), /requires the admin role/);
    await updateAlertChannel(admin, { channelId: channel!.id, reason: 'rename', name: 'On-call (EU)', minSeverity: 'warning' });
    assert.equal((await fetchAlertChannels(admin))[0]!.name, 'On-call (EU)');
    await deleteAlertChannel(admin, { channelId: channel!.id, reason: 'replaced' });
    assert.deepEqual(await fetchAlertChannels(admin), []);
  });
});

describe('incidents', () => {
  test('an open incident is listed, its story read whole, and an admin acknowledges and notes it', async () => {
    await addJobMinute(stack.db, { minutesAgo: 1, model: FLASH, succeeded: 10, failed: 30 });
    // The stack's own scheduler evaluates too; one that overlaps makes this one skip.
    await until(async () => (await evaluate(stack.db)).skipped === undefined, { label: 'an evaluation that ran' });
    const [open] = await fetchOpenIncidents(support);
    assert.deepEqual([open!.rule_id, open!.subject, open!.status, open!.value, open!.threshold], ['model_failure_rate', FLASH, 'open', 75, 10]);
    assert.deepEqual(await fetchResolvedIncidents(support), [], 'an open incident is not among the resolved');
    assert.deepEqual(await fetchOpenIncidents(alice), []);

    await runIncidentAction(admin, { action: 'acknowledge', incidentId: open!.id, text: 'on it' });
    await runIncidentAction(admin, { action: 'note', incidentId: open!.id, text: 'a bad prompt filter deploy' });
    await assert.rejects(runIncidentAction(support, { action: 'note', incidentId: open!.id, text: 'x' }), /requires the admin role/);
    await assert.rejects(runIncidentAction(admin, { action: 'note', incidentId: open!.id, text: 'x'.repeat(601) }), {
      message: 'Keep the note under 500 characters',
    });
    // Past the form's check, the database says the same in its words.
    const { error } = await admin.rpc('add_alert_incident_note', { p_incident_id: open!.id, p_note: 'x'.repeat(601) });
    assert.deepEqual([error?.code, error?.message], ['22023', 'note is too long: 601 characters, the limit is 500']);

    const story = (await fetchIncident(support, open!.id))!;
    assert.equal(story.rule.id, 'model_failure_rate');
    assert.equal(story.incident.detail.model_id, FLASH);
    assert.ok(story.incident.acknowledged_at);
    assert.deepEqual(story.events.map((e) => e.kind), ['opened', 'acknowledged', 'note']);
    assert.equal(await fetchIncident(support, 999999), null);
    assert.ok((await fetchEvaluationState(support))?.last_finished_at);
  });

  test('an incident open for two days shows its latest value, its opening and a note from its first day', async () => {
    const { rows } = await stack.db.query(
      `insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, value, peak_value, opened_at)
       values ('jobs_stuck', '', 'warning', 'Jobs stuck running', 'Deep for two days.', 'jobs', 100, 2880, 2880, now() - interval '2 days')
       returning id`,
    );
    const id = Number(rows[0].id);
    // One evaluation a minute for two days, each value its minute's number; a note on the first day.
    await stack.db.query(
      `insert into public.alert_incident_events (incident_id, at, kind, value, actor_role, note)
       select $1::bigint, now() - interval '2 days', 'opened', 0, 'evaluator', null
       union all
       select $1, now() - interval '2 days' + make_interval(mins => m), 'value', m, 'evaluator', null from generate_series(1, 600) m
       union all
       select $1, now() - interval '2 days' + interval '601 minutes', 'note', null, 'admin', 'looking into it'
       union all
       select $1, now() - interval '2 days' + make_interval(mins => m), 'value', m, 'evaluator', null from generate_series(601, 2880) m`,
      [id],
    );
    const story = (await fetchIncident(support, id))!;
    const values = story.events.filter((e) => e.kind === 'value');
    assert.equal(values.length, INCIDENT_VALUES_SHOWN);
    assert.equal(values.at(-1)!.value, 2880, 'the latest value is shown');
    assert.equal(values[0]!.value, 2880 - INCIDENT_VALUES_SHOWN + 1, 'the latest day of values, in order');
    assert.deepEqual(story.events.filter((e) => e.kind !== 'value').map((e) => e.kind), ['opened', 'note']);
    assert.deepEqual(story.events.map((e) => e.id), story.events.map((e) => e.id).sort((a, b) => a - b), 'oldest first');
    await stack.db.query(`update public.alert_incidents set status = 'resolved', resolved_at = now() where id = $1`, [id]);
  });

  test('the open list is every open incident, however many resolved ones are newer', async () => {
    const { rows } = await stack.db.query(
      `insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, opened_at)
       values ('jobs_stuck', 'old-open', 'warning', 'Jobs stuck running: old-open', 'Open a week.', 'jobs', 100, now() - interval '7 days')
       returning id`,
    );
    await stack.db.query(
      `insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, status, resolved_at)
       select 'jobs_stuck', 'resolved-' || n, 'warning', 'Jobs stuck running', 'Gone.', 'jobs', 100, 'resolved', now() from generate_series(1, 60) n`,
    );
    const open = await fetchOpenIncidents(support);
    assert.ok(open.some((i) => i.id === Number(rows[0].id)), 'the week-old open incident is listed');
    assert.ok(open.every((i) => i.status === 'open'));
    const resolved = await fetchResolvedIncidents(support);
    assert.equal(resolved.length, RESOLVED_INCIDENTS);
    assert.ok(resolved.every((i) => i.status === 'resolved'));
  });

  test('every message the database broadcast on admin:alerts parses as the console expects', async () => {
    const { rows } = await stack.db.query(`select event, payload from realtime.messages where topic = 'admin:alerts' order by inserted_at`);
    assert.ok(rows.some((r) => r.event === 'incident_changed') && rows.some((r) => r.event === 'delivery_changed'));
    for (const { event, payload } of rows) assert.notEqual(parseAdminAlertChange(event, payload), null, `${event} ${JSON.stringify(payload)}`);
  });
});
