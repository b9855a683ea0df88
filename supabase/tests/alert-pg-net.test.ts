import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createChannel, deliveries, SIGNING_SECRET } from '../../testkit/database/alerts.ts';
import { openTestDb, query, type TestDb } from '../../testkit/database/fixtures.ts';
import { verifyJobHealthSignature } from '../../testkit/http/webhook-receiver.ts';

/**
 * The hosted sender, private.send_alert_deliveries_via_pg_net(), against a stand-in for pg_net
 * (the local platform has no pg_net): net.http_post records what it was asked to send, with the
 * body as pg_net sends a jsonb body (its text), and net._http_response holds the answers the
 * test gives. What matters is that the body pg_net sends is the text the signature covers, and
 * that answers move the deliveries as the local sender's do.
 */
let t: TestDb;
before(async () => {
  t = await openTestDb();
  await t.db.query(`
    create schema net;
    create table net.sent (id bigint generated always as identity primary key, url text, headers jsonb, body text, timeout_milliseconds integer);
    create table net._http_response (id bigint primary key, status_code integer, timed_out boolean, error_msg text);
    create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}', headers jsonb default '{}',
                                  timeout_milliseconds integer default 5000) returns bigint
      language sql as $$
        insert into net.sent (url, headers, body, timeout_milliseconds)
        values (url, headers, convert_from(convert_to(body::text, 'UTF8'), 'UTF8'), timeout_milliseconds) returning id $$;`);
});
after(async () => {
  await t.close();
});

const send = async () => (await t.db.query<{ n: number }>('select private.send_alert_deliveries_via_pg_net() as n')).rows[0]!.n;

test('a queued message goes to net.http_post signed over the exact body pg_net sends; a 2xx answer delivers it', async () => {
  const channel = await createChannel(t.db, { name: 'hosted', kind: 'webhook', url: 'https://hooks.example.com/jobhealth' });
  await query(t.db, 'admin', 'select public.send_test_alert($1)', [channel.id]);
  assert.equal(await send(), 1);
  const { rows } = await t.db.query('select * from net.sent');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].url, 'https://hooks.example.com/jobhealth');
  assert.equal(rows[0].timeout_milliseconds, 5000);
  const headers = Object.fromEntries(Object.entries(rows[0].headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(verifyJobHealthSignature(SIGNING_SECRET, headers, rows[0].body), true);
  assert.equal((await deliveries(t.db))[0]!.status, 'sending');

  // Nothing answered yet: nothing changes, and nothing is sent twice.
  assert.equal(await send(), 0);
  await t.db.query('insert into net._http_response (id, status_code, timed_out) values ($1, 200, false)', [rows[0].id]);
  assert.equal(await send(), 0);
  const [delivered] = await deliveries(t.db);
  assert.deepEqual([delivered!.status, delivered!.attempts, delivered!.last_status], ['delivered', 1, 200]);
});

test('a timeout is recorded as the attempt\'s error and retried later', async () => {
  const channel = await createChannel(t.db, { name: 'slow', kind: 'slack', url: 'https://hooks.slack.com/services/T0/B0/slow' });
  await t.db.query(
    `insert into public.alert_deliveries (channel_id, event, payload) values ($1, 'test', '{"type": "test"}')`,
    [channel.id],
  );
  assert.equal(await send(), 1);
  const { rows } = await t.db.query(`select id from net.sent where url like '%/slow'`);
  await t.db.query('insert into net._http_response (id, status_code, timed_out, error_msg) values ($1, null, true, null)', [rows[0].id]);
  await send();
  const delivery = (await deliveries(t.db)).find((d) => d.channel_id === channel.id)!;
  assert.deepEqual([delivery.status, delivery.attempts, delivery.last_error], ['pending', 1, 'the receiver did not answer within 5 s']);
  assert.ok(delivery.next_attempt_at.getTime() > Date.now(), 'retried later');
});

test('a receiver that never answers holds up no other channel: the next pass sends the others while its call is open', async () => {
  const dead = await createChannel(t.db, { name: 'dead', kind: 'webhook', url: 'https://dead.example.com/hook' });
  const healthy = await createChannel(t.db, { name: 'healthy', kind: 'webhook', url: 'https://healthy.example.com/hook' });
  await query(t.db, 'admin', 'select public.send_test_alert($1)', [dead.id]);
  assert.equal(await send(), 1);
  // pg_net has the dead receiver's call and no answer comes. The healthy channel's message,
  // queued meanwhile, leaves on the very next pass.
  await query(t.db, 'admin', 'select public.send_test_alert($1)', [healthy.id]);
  assert.equal(await send(), 1);
  const { rows } = await t.db.query<{ id: string; url: string; timeout_milliseconds: number }>(
    `select id, url, timeout_milliseconds from net.sent where url like 'https://%.example.com/hook' order by id`);
  assert.deepEqual(rows.map((r) => r.url), ['https://dead.example.com/hook', 'https://healthy.example.com/hook']);
  // Each call ends within 5 s: pg_net's batch with the dead call is over before the next 10 s tick.
  assert.deepEqual(rows.map((r) => r.timeout_milliseconds), [5000, 5000]);
  await t.db.query('insert into net._http_response (id, status_code, timed_out) values ($1, 200, false)', [rows[1]!.id]);
  await send();
  const status = async (channelId: string) => (await deliveries(t.db)).find((d) => d.channel_id === channelId)!;
  assert.equal((await status(healthy.id)).status, 'delivered');
  assert.equal((await status(dead.id)).status, 'sending', 'the dead call is still open, and nothing waited for it');
  await t.db.query('insert into net._http_response (id, status_code, timed_out) values ($1, null, true)', [rows[0]!.id]);
  await send();
  assert.deepEqual([(await status(dead.id)).status, (await status(dead.id)).last_error], ['failed', 'the receiver did not answer within 5 s']);
});

test('"resolved" leaves only after its channel\'s "opened" was answered, in the same pass that records the answer', async () => {
  const channel = await createChannel(t.db, { name: 'ordered', kind: 'webhook', url: 'https://ordered.example.com/hook' });
  await t.db.query(`update public.alert_channels set enabled = (id = $1) where true`, [channel.id]);
  const [incident] = await t.db.query<{ id: string }>(
    `insert into public.alert_incidents (rule_id, severity, title, summary, unit, threshold)
     values ('failure_rate', 'critical', 'Job failure rate', '75% failed', 'percent', 10) returning id`).then((r) => r.rows);
  const enqueue = (event: string) => t.db.query(
    `select private.enqueue_alert_deliveries(i, $2) from public.alert_incidents i where id = $1`, [incident!.id, event]);
  const sentTo = async () => (await t.db.query<{ body: string }>(`select body from net.sent where url = 'https://ordered.example.com/hook' order by id`))
    .rows.map((r) => JSON.parse(r.body).type as string);

  await enqueue('opened');
  assert.equal(await send(), 1);
  await t.db.query(`update public.alert_incidents set status = 'resolved', resolved_at = now() where id = $1`, [incident!.id]);
  await enqueue('resolved');
  assert.equal(await send(), 0, 'the "opened" call is still open');

  // It timed out: "opened" waits for its retry, and "resolved" with it.
  const openedRequest = async () => (await t.db.query<{ net_request_id: string }>(
    `select net_request_id from public.alert_deliveries where incident_id = $1 and event = 'opened'`, [incident!.id])).rows[0]!.net_request_id;
  await t.db.query('insert into net._http_response (id, status_code, timed_out) values ($1, null, true)', [await openedRequest()]);
  assert.equal(await send(), 0);
  assert.deepEqual(await sentTo(), ['incident.opened']);

  await t.db.query(`update public.alert_deliveries set next_attempt_at = now() where incident_id = $1 and event = 'opened'`, [incident!.id]);
  assert.equal(await send(), 1);
  await t.db.query('insert into net._http_response (id, status_code, timed_out) values ($1, 202, false)', [await openedRequest()]);
  assert.equal(await send(), 1, 'the answer recorded, then "resolved" sent');
  assert.deepEqual(await sentTo(), ['incident.opened', 'incident.opened', 'incident.resolved']);
});
