import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { checkDeliveryTarget, deliverDueAlerts, startAlertDelivery } from './alert-delivery.ts';
import {
  addJobMinute,
  allowLoopbackTargets,
  clearRollups,
  createChannel,
  deliveries,
  evaluate,
  markRolledUp,
  setRule,
  SIGNING_SECRET,
  type Channel,
} from '../../testkit/database/alerts.ts';
import { claim, createJob, FLASH, openTestDb, query, type TestDb } from '../../testkit/database/fixtures.ts';
import { until } from '../../testkit/wait.ts';
import { verifyJobHealthSignature as verify, WebhookReceiver as Receiver, type ReceivedRequest as Received } from '../../testkit/http/webhook-receiver.ts';

/**
 * The local sender against a real HTTP receiver: what arrives, how a receiver verifies the
 * signature, retries, leases and the fence, that a receiver that never answers holds up
 * neither the evaluation, the pipeline nor another channel, and that a channel hears of an
 * incident's end only after its start.
 */
let t: TestDb;
let receiver: Receiver;
let channel: Channel;
beforeEach(async () => {
  t = await openTestDb();
  await allowLoopbackTargets(t.db);
  receiver = await new Receiver().start();
  channel = await createChannel(t.db, { name: 'receiver', kind: 'webhook', url: receiver.url });
});
afterEach(async () => {
  await receiver.stop();
  await t.close();
});

const testMessage = async (channelId = channel.id) =>
  (await query<{ id: string }>(t.db, 'admin', 'select * from public.send_test_alert($1)', [channelId]))[0]!.id;

/** An incident of failure_rate opens (its 'opened' messages queued); hold-down 0, so it resolves as soon as it clears. */
const openIncident = async () => {
  await markRolledUp(t.db);
  await t.db.query(`update public.alert_rules set enabled = (id = 'failure_rate') where true`);
  await setRule(t.db, 'failure_rate', { hold_down_minutes: 0 });
  await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 10, failed: 30 });
  assert.equal((await evaluate(t.db)).opened, 1);
};
/** The failures stop: the incident resolves, its 'resolved' messages queued. */
const resolveIncident = async () => {
  await clearRollups(t.db);
  assert.equal((await evaluate(t.db)).resolved, 1);
};
const status = async (id: string) => (await t.db.query('select status from public.alert_deliveries where id = $1', [id])).rows[0].status as string;
const deliveryOf = async (event: string, channelId = channel.id) =>
  (await deliveries(t.db)).find((d) => d.event === event && d.channel_id === channelId)!;
/** A receiver's calls are held open until `release` is called. */
const holdCalls = (r: Receiver) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  r.answer = (res) => void released.then(() => res.end('late'));
  return release;
};

describe('what a receiver gets', () => {
  test('a signed test message the receiver verifies; a changed body or an old timestamp does not verify', async () => {
    const id = await testMessage();
    assert.equal(await deliverDueAlerts(t.db), 1);
    assert.equal(receiver.received.length, 1);
    const [{ headers, body }] = receiver.received as [Received];
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-jobhealth-event'], 'test');
    assert.equal(headers['x-jobhealth-delivery'], id);
    assert.equal(verify(SIGNING_SECRET, headers, body), true);
    assert.deepEqual(JSON.parse(body), {
      type: 'test', channel: { id: channel.id, name: 'receiver' }, delivery_id: Number(id), sent_at: JSON.parse(body).sent_at,
    });

    assert.equal(verify(SIGNING_SECRET, headers, body.replace('receiver', 'attacker')), false, 'a changed body');
    assert.equal(verify('another-secret-0123456789abcdefghijklmn', headers, body), false, 'another secret');
    assert.equal(verify(SIGNING_SECRET, headers, body, Date.now() / 1000 + 600), false, 'replayed ten minutes later');
    const [delivery] = await deliveries(t.db);
    assert.deepEqual([delivery!.status, delivery!.attempts, delivery!.last_status], ['delivered', 1, 200]);
  });

  test('an incident opens: one signed message to the webhook and one in Slack\'s format', async () => {
    const slackReceiver = await new Receiver().start();
    try {
      await createChannel(t.db, { name: 'slack', kind: 'slack', url: slackReceiver.url });
      await markRolledUp(t.db);
      await t.db.query(`update public.alert_rules set enabled = (id = 'model_failure_rate') where true`);
      await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 10, failed: 30 });
      await evaluate(t.db);
      assert.equal(await deliverDueAlerts(t.db), 2);

      const [{ headers, body }] = receiver.received as [Received];
      assert.equal(verify(SIGNING_SECRET, headers, body), true);
      const message = JSON.parse(body);
      assert.equal(message.type, 'incident.opened');
      assert.deepEqual(
        { rule: message.incident.rule_id, subject: message.incident.subject, status: message.incident.status, value: message.incident.value },
        { rule: 'model_failure_rate', subject: FLASH, status: 'open', value: 75 },
      );
      assert.equal(message.incident.summary, '75% of 40 finished jobs failed in the last 5 min (threshold 10%)');

      const slack = JSON.parse(slackReceiver.received[0]!.body);
      assert.equal(slack.text, `:rotating_light: *CRITICAL* Job failure rate of a model: ${FLASH}: 75% of 40 finished jobs failed in the last 5 min (threshold 10%)`);
      assert.equal(slack.blocks[0].text.type, 'mrkdwn');
      assert.equal(slackReceiver.received[0]!.headers['x-jobhealth-signature'], undefined, 'Slack is not signed');
    } finally {
      await slackReceiver.stop();
    }
  });
});

describe('when the receiver fails', () => {
  test('an error answer is retried later with backoff, and delivered when the receiver recovers', async () => {
    receiver.answer = (res) => {
      res.statusCode = 503;
      res.end('down for maintenance');
    };
    await createChannel(t.db, { name: 'second', kind: 'webhook', url: receiver.url });
    await markRolledUp(t.db);
    await t.db.query(`update public.alert_rules set enabled = (id = 'failure_rate') where true`);
    await addJobMinute(t.db, { minutesAgo: 1, model: FLASH, succeeded: 10, failed: 30 });
    await evaluate(t.db);
    assert.equal(await deliverDueAlerts(t.db), 2);
    for (const d of await deliveries(t.db)) {
      assert.deepEqual([d.status, d.attempts, d.last_status, d.last_error], ['pending', 1, 503, 'the receiver answered 503: down for maintenance']);
    }
    const { rows } = await t.db.query(`select min(next_attempt_at - last_attempt_at) as wait from public.alert_deliveries`);
    assert.ok(rows[0].wait.seconds >= 11, `the first retry waits about 15 s (${JSON.stringify(rows[0].wait)})`);
    assert.equal(await deliverDueAlerts(t.db), 0, 'nothing is due yet');

    receiver.answer = (res) => res.end('ok');
    await t.db.query('update public.alert_deliveries set next_attempt_at = now() where true');
    assert.equal(await deliverDueAlerts(t.db), 2);
    assert.deepEqual((await deliveries(t.db)).map((d) => [d.status, d.attempts]), [['delivered', 2], ['delivered', 2]]);
    assert.equal(new Set(receiver.received.map((r) => r.headers['x-jobhealth-delivery'])).size, 2, 'the same two deliveries, retried');
  });

  test('after its last attempt a delivery fails; a test message has one attempt', async () => {
    receiver.answer = (res) => {
      res.statusCode = 500;
      res.end();
    };
    await testMessage();
    await deliverDueAlerts(t.db);
    const [delivery] = await deliveries(t.db);
    assert.deepEqual([delivery!.status, delivery!.attempts, delivery!.last_error], ['failed', 1, 'the receiver answered 500']);
  });

  test('a receiver that never answers holds up neither the evaluation nor the pipeline; the sender times out on its own', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receiver.answer = (res) => void released.then(() => res.end('late'));
    await testMessage();
    let sending = true;
    const delivery = deliverDueAlerts(t.db, { timeoutMs: 60_000 }).finally(() => (sending = false));
    await until(() => receiver.received.length === 1, { label: 'the request to reach the receiver' });

    // While the receiver holds the call: an evaluation, and a job through its whole life.
    assert.equal((await evaluate(t.db)).skipped, undefined);
    const job = await createJob(t.db);
    const [claimed] = await claim(t.db);
    await query(t.db, 'service', 'select public.complete_job($1, $2)', [claimed!.id, claimed!.lease_token]);
    assert.equal((await t.db.query('select status from public.jobs where id = $1', [job.id])).rows[0].status, 'succeeded');
    assert.equal(sending, true, 'the delivery was still waiting for the receiver all along');

    release();
    await delivery;
    assert.equal((await deliveries(t.db))[0]!.status, 'delivered');
  });

  test('a receiver slower than the timeout: the attempt ends as an error and nothing waits longer', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receiver.answer = (res) => void released.then(() => res.end());
    await testMessage();
    try {
      await deliverDueAlerts(t.db, { timeoutMs: 200 });
    } finally {
      release();
    }
    const [delivery] = await deliveries(t.db);
    assert.deepEqual([delivery!.status, delivery!.last_status, delivery!.last_error], ['failed', null, 'the receiver did not answer within 0.2 s']);
  });
});

describe('each channel on its own', () => {
  test('a receiver that never answers holds up no other channel: the running sender delivers the others while its call is open', async () => {
    const dead = await new Receiver().start();
    const releaseDead = holdCalls(dead);
    const deadChannel = await createChannel(t.db, { name: 'dead', kind: 'webhook', url: dead.url });
    // A timeout far beyond the test: the dead call stays open for as long as the test looks.
    const sender = await startAlertDelivery({ dbUrl: t.database.url, evaluateEveryMs: 3_600_000, sweepMs: 3_600_000, timeoutMs: 600_000 });
    try {
      const deadTest = await testMessage(deadChannel.id);
      await until(() => dead.received.length === 1, { label: 'the call to the dead receiver' });

      // The same pass of the sender, while that call is open: another channel's test message...
      const healthyTest = await testMessage();
      await until(async () => (await status(healthyTest)) === 'delivered', { label: 'the healthy channel\'s test message' });
      assert.equal(receiver.received.length, 1);
      assert.equal(await status(deadTest), 'sending', 'the dead receiver\'s call is still open');

      // ...and an incident: every channel's 'opened' is taken at once; the healthy one arrives.
      await openIncident();
      await until(async () => (await deliveryOf('opened')).status === 'delivered', { label: 'the healthy channel\'s opened message' });
      await until(() => dead.received.length === 2, { label: 'the opened message to reach the dead receiver too' });
      assert.equal((await deliveryOf('opened', deadChannel.id)).status, 'sending');
      assert.equal(await status(deadTest), 'sending', 'still open: nothing waited for it');
      assert.deepEqual(receiver.received.map((r) => r.headers['x-jobhealth-event']), ['test', 'incident.opened']);
    } finally {
      releaseDead();
      await sender.stop();
      await dead.stop();
    }
    // Stopping waits for the open calls and records them.
    assert.deepEqual((await deliveries(t.db)).filter((d) => d.channel_id !== channel.id).map((d) => d.status), ['delivered', 'delivered']);
  });
  test('at most maxInFlight calls are open; a call that ends makes room and the waiting message leaves at once', async () => {
    const release = holdCalls(receiver);
    const sender = await startAlertDelivery({ dbUrl: t.database.url, evaluateEveryMs: 3_600_000, sweepMs: 3_600_000, maxInFlight: 1 });
    try {
      const first = await testMessage();
      await until(() => receiver.received.length === 1, { label: 'the first call' });
      const woken = once(sender, 'invoked');
      const second = await testMessage();
      // Woken for the second (NOTIFY), the sender had no room: it stays queued.
      await woken;
      assert.equal(await status(second), 'pending');
      receiver.answer = (res) => res.end('ok');
      release();
      // No sweep for an hour: the first call's end took the second.
      await until(async () => (await status(second)) === 'delivered', { label: 'the second message' });
      assert.equal(await status(first), 'delivered');
    } finally {
      release();
      await sender.stop();
    }
  });
});

describe('an incident\'s messages in order', () => {
  test('"resolved" waits while "opened" is retrying, and follows once it is delivered', async () => {
    receiver.answer = (res) => {
      res.statusCode = 503;
      res.end();
    };
    await openIncident();
    assert.equal(await deliverDueAlerts(t.db), 1);
    assert.deepEqual([(await deliveryOf('opened')).status, (await deliveryOf('opened')).attempts], ['pending', 1]);

    await resolveIncident();
    const resolved = await deliveryOf('resolved');
    assert.equal(resolved.status, 'pending');
    assert.ok(resolved.next_attempt_at.getTime() <= Date.now(), 'due by its own clock');
    assert.equal(await deliverDueAlerts(t.db), 0, '"resolved" is held back while "opened" waits for its retry');

    // The retry comes due while the receiver is still down: only "opened" is sent again.
    await t.db.query(`update public.alert_deliveries set next_attempt_at = now() where event = 'opened'`);
    assert.equal(await deliverDueAlerts(t.db), 1);
    assert.deepEqual(receiver.received.map((r) => r.headers['x-jobhealth-event']), ['incident.opened', 'incident.opened']);

    receiver.answer = (res) => res.end('ok');
    await t.db.query(`update public.alert_deliveries set next_attempt_at = now() where event = 'opened'`);
    assert.equal(await deliverDueAlerts(t.db), 1, 'the retry of "opened" alone');
    assert.equal(await deliverDueAlerts(t.db), 1, 'then "resolved"');
    assert.deepEqual(receiver.received.map((r) => r.headers['x-jobhealth-event']), ['incident.opened', 'incident.opened', 'incident.opened', 'incident.resolved']);
    assert.deepEqual((await deliveries(t.db)).map((d) => [d.event, d.status]), [['opened', 'delivered'], ['resolved', 'delivered']]);
  });

  test('"resolved" is sent once "opened" has given up: the receiver hears the whole incident in it', async () => {
    receiver.answer = (res) => {
      res.statusCode = 500;
      res.end();
    };
    await openIncident();
    await t.db.query(`update public.alert_deliveries set max_attempts = 2 where event = 'opened'`);
    await deliverDueAlerts(t.db);
    await resolveIncident();
    await t.db.query(`update public.alert_deliveries set next_attempt_at = now() where event = 'opened'`);
    assert.equal(await deliverDueAlerts(t.db), 1, 'the last attempt of "opened" alone');
    assert.equal((await deliveryOf('opened')).status, 'failed');

    receiver.answer = (res) => res.end('ok');
    assert.equal(await deliverDueAlerts(t.db), 1);
    const message = JSON.parse(receiver.received.at(-1)!.body);
    assert.equal(message.type, 'incident.resolved');
    assert.equal(message.incident.status, 'resolved');
    assert.ok(message.incident.opened_at && message.incident.resolved_at);
  });

  test('the running sender sends "resolved" the moment the "opened" call it waited for ends', async () => {
    const release = holdCalls(receiver);
    const sender = await startAlertDelivery({ dbUrl: t.database.url, evaluateEveryMs: 3_600_000, sweepMs: 3_600_000 });
    try {
      await openIncident();
      await until(() => receiver.received.length === 1, { label: 'the opened message to reach the receiver' });
      await resolveIncident();
      // Queued and due, and the sender was woken for it (NOTIFY), but its "opened" is in flight.
      await until(async () => (await t.db.query('select count(*)::int as n from public.alert_deliveries')).rows[0].n === 2);
      assert.equal((await deliveryOf('opened')).status, 'sending');
      assert.equal((await deliveryOf('resolved')).status, 'pending');

      receiver.answer = (res) => res.end('ok');
      release();
      // No sweep for an hour: only finishing "opened" can have woken the sender.
      await until(async () => (await deliveryOf('resolved')).status === 'delivered', { label: 'the resolved message' });
      assert.deepEqual(receiver.received.map((r) => r.headers['x-jobhealth-event']), ['incident.opened', 'incident.resolved']);
    } finally {
      release();
      await sender.stop();
    }
  });
});

describe('leases and the fence', () => {
  test('a delivery taken by a sender that died is taken again when its lease expires; the late answer changes nothing', async () => {
    const id = await testMessage();
    await t.db.query('update public.alert_deliveries set max_attempts = 3 where id = $1', [id]);
    const { rows: taken } = await t.db.query(`select * from private.take_alert_deliveries('local')`);
    assert.deepEqual(taken.map((r) => [r.id, r.attempt]), [[id, 1]]);
    assert.equal(await deliverDueAlerts(t.db), 0, 'leased: nobody else takes it');

    await t.db.query(`update public.alert_deliveries set lease_until = now() - interval '1 second' where id = $1`, [id]);
    assert.equal(await deliverDueAlerts(t.db), 1);
    const { rows } = await t.db.query(`select private.finish_alert_delivery($1, 1, 500, 'late') as outcome`, [id]);
    assert.equal(rows[0].outcome, 'fenced');
    const [delivery] = await deliveries(t.db);
    assert.deepEqual([delivery!.status, delivery!.attempts], ['delivered', 2]);
  });

  test('a delivery whose channel was deleted ends failed without a request', async () => {
    await testMessage();
    await query(t.db, 'admin', `select public.delete_alert_channel($1, 'gone')`, [channel.id]);
    assert.equal(await deliverDueAlerts(t.db), 0);
    assert.equal(receiver.received.length, 0);
    const [delivery] = await deliveries(t.db);
    assert.deepEqual([delivery!.status, delivery!.last_error], ['failed', 'the channel was deleted']);
  });
});

describe('the running sender', () => {
  test('a queued delivery is sent at once (NOTIFY), and the evaluation runs on its schedule', async () => {
    const sender = await startAlertDelivery({ dbUrl: t.database.url, evaluateEveryMs: 50, sweepMs: 60_000 });
    try {
      await until(async () => (await t.db.query('select last_finished_at from public.alert_evaluation_state')).rows[0].last_finished_at, {
        label: 'a scheduled evaluation',
      });
      await testMessage();
      await until(() => receiver.received.length === 1, { label: 'the test message' });
      await until(async () => (await deliveries(t.db))[0]!.status === 'delivered', { label: 'the delivery to be recorded' });
    } finally {
      await sender.stop();
    }
  });

  test('targets are checked after DNS: private addresses are refused, a loopback URL the SQL allowed is not', async () => {
    await assert.rejects(checkDeliveryTarget('https://10.0.0.1/x'), /private or loopback address/);
    await assert.rejects(checkDeliveryTarget('https://[fe80::1]/x'), /private or loopback address/);
    await assert.rejects(checkDeliveryTarget('https://[::ffff:192.168.0.1]/x'), /private or loopback address/);
    await checkDeliveryTarget('https://8.8.8.8/x');
    await checkDeliveryTarget(receiver.url);
  });
});
