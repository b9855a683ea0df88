import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createChannel, deliveries, SIGNING_SECRET } from './support/alerts.ts';
import { openTestDb, query, type TestDb } from './support/fixtures.ts';
import { verifyJobHealthSignature } from './support/webhook-receiver.ts';

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
  assert.equal(rows[0].timeout_milliseconds, 10000);
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
  assert.deepEqual([delivery.status, delivery.attempts, delivery.last_error], ['pending', 1, 'the receiver did not answer within 10 s']);
  assert.ok(delivery.next_attempt_at.getTime() > Date.now(), 'retried later');
});
