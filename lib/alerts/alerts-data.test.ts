import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '@/lib/supabase/database';
import { addJobMinute, evaluate, markRolledUp } from '../../supabase/tests/support/alerts.ts';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS, startTestStack, type TestStack } from '../../supabase/tests/support/database.ts';
import { FLASH } from '../../supabase/tests/support/fixtures.ts';
import { parseAdminAlertChange } from '../realtime/admin-alert-change.ts';
import { fetchAlertChannels } from './alert-channels-query.ts';
import { fetchAlertDeliveries } from './alert-deliveries-query.ts';
import { fetchAlertRules } from './alert-rules-query.ts';
import { createAlertChannel, deleteAlertChannel, sendTestAlert, updateAlertChannel } from './channel-mutations.ts';
import { fetchEvaluationState } from './evaluation-state-query.ts';
import { runIncidentAction } from './incident-actions.ts';
import { fetchIncident } from './incident-query.ts';
import { fetchOpenIncidents } from './open-incidents-query.ts';
import { fetchRecentIncidents } from './recent-incidents-query.ts';
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

async function signIn(user: keyof typeof DEMO_USERS): Promise<DatabaseClient> {
  const client = createTestClient(stack, stack.publishableKey);
  const { error } = await client.auth.signInWithPassword({ email: DEMO_USERS[user].email, password: DEMO_PASSWORD });
  assert.equal(error, null);
  return client;
}

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
    await evaluate(stack.db);
    const [open] = await fetchOpenIncidents(support);
    assert.deepEqual([open!.rule_id, open!.subject, open!.status, open!.value, open!.threshold], ['model_failure_rate', FLASH, 'open', 75, 10]);
    assert.deepEqual((await fetchRecentIncidents(support)).map((i) => i.id), [open!.id]);
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

  test('every message the database broadcast on admin:alerts parses as the console expects', async () => {
    const { rows } = await stack.db.query(`select event, payload from realtime.messages where topic = 'admin:alerts' order by inserted_at`);
    assert.ok(rows.some((r) => r.event === 'incident_changed') && rows.some((r) => r.event === 'delivery_changed'));
    for (const { event, payload } of rows) assert.notEqual(parseAdminAlertChange(event, payload), null, `${event} ${JSON.stringify(payload)}`);
  });
});
