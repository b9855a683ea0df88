import type pg from 'pg';
import { FLASH } from '../testkit/database/fixtures.ts';
import { verifyJobHealthSignature, WebhookReceiver } from '../testkit/http/webhook-receiver.ts';
import { markPage, stillMarked } from './support/page-mark.ts';
import { expect, test } from './support/test.ts';

/**
 * Alerting against the whole product, with a webhook receiver on this machine: an admin adds a
 * signed webhook channel (a private address refused on save) and its test message arrives; the
 * Gemini stand-in is made to fail, the banner appears on the open System Health page without a
 * reload, the receiver gets exactly one signed "opened" message, the admin acknowledges the
 * incident; the faults stop, one "resolved" message follows and the banner goes. Support reads
 * all of it and changes nothing; an end user gets a 404.
 *
 * The stack evaluates the rules every 5 seconds instead of every minute (global setup), and the
 * rule under test is set, through the console, to a one-minute window and no hold-down (the
 * SQL tests hold the hold-down to account), so the journey takes minutes, not a quarter of an
 * hour. It is the only rule switched on, so the
 * receiver hears about this incident only.
 */
test.describe.configure({ mode: 'serial' });
// Every call takes 200 ms: failures arrive at a steady pace, not all in one evaluation.
test.use({ geminiLatency: { p50: 200, p99: 200 } });

const RULE_ID = 'model_failure_rate';
const RULE = 'Job failure rate of a model';
const INCIDENT_TITLE = `${RULE}: ${FLASH}`;
// Failures leave the one-minute window within two minutes.
const RESOLVE_TIMEOUT = 5 * 60_000;

let receiver: WebhookReceiver;
let signingSecret = '';

test.beforeAll(async ({ db }) => {
  receiver = await new WebhookReceiver().start();
  await db.query('update public.alert_rules set enabled = (id = $1) where true', [RULE_ID]);
});
test.afterAll(async ({ db }) => {
  await db.query('update public.alert_rules set enabled = false where enabled');
  await receiver?.stop();
});

const opened = () => receiver.messages('incident.opened');
const resolved = () => receiver.messages('incident.resolved');

test('an admin adds a signed webhook channel, a private address refused on save, and its test message arrives', async ({ adminPage: admin }) => {
  await admin.goto('/admin/alerts');
  await admin.getByRole('button', { name: 'Add channel' }).click();
  const dialog = admin.getByRole('dialog', { name: 'Add a channel' });
  await dialog.getByLabel('Name').fill('e2e receiver');
  await dialog.getByLabel('Kind').selectOption('webhook');
  await dialog.getByLabel('URL').fill('https://10.0.0.7/hooks/jobhealth');
  await dialog.getByRole('button', { name: 'Generate' }).click();
  signingSecret = await dialog.getByLabel(/Signing secret/).inputValue();
  expect(signingSecret.length, 'a generated secret').toBeGreaterThanOrEqual(32);
  await dialog.getByLabel(/^Reason/).fill('the on-call receiver');
  await dialog.getByRole('button', { name: 'Save channel' }).click();
  await expect(dialog.getByRole('alert')).toContainText('is a private, link-local or reserved address');

  await dialog.getByLabel('URL').fill(receiver.url);
  await dialog.getByRole('button', { name: 'Save channel' }).click();
  await expect(dialog.getByRole('status')).toContainText('Saved');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Saved, the secret and the URL's path exist only as hints, in the page and in its data.
  const row = admin.getByRole('table', { name: 'Alert channels' }).getByRole('row').filter({ hasText: 'e2e receiver' });
  await expect(row).toContainText(`…${signingSecret.slice(-4)}`);
  await admin.reload();
  await expect(row).toBeVisible();
  const html = await admin.content();
  expect(html, 'the signing secret is not in the page').not.toContain(signingSecret);
  expect(html, 'the full URL is not in the page').not.toContain(receiver.url);

  await admin.getByRole('button', { name: 'Send test message: e2e receiver' }).click();
  await expect.poll(() => receiver.messages('test').length, { message: 'the test message', timeout: 30_000 }).toBe(1);
  const [message] = receiver.messages('test');
  expect(verifyJobHealthSignature(signingSecret, message!.request.headers, message!.request.body), 'signed with the secret').toBe(true);
  // The delivery log follows without a reload.
  await expect(admin.getByRole('table', { name: 'Delivery log' }).getByRole('row').filter({ hasText: 'Test message' })).toContainText('Delivered');
});

test('Gemini fails: the banner appears without a reload and one signed "opened" message arrives; the faults stop and one "resolved" follows', async ({
  adminPage: admin,
  clientAs,
  gemini,
  db,
  tag,
  saveScreenshot,
}) => {
  test.setTimeout(10 * 60_000);
  expect(signingSecret, 'the channel from the first journey').not.toBe('');

  // The rule under test, made quick through the console: a one-minute window, no hold-down.
  await admin.goto('/admin/alerts');
  await admin.getByRole('button', { name: `Edit: ${RULE}` }).click();
  const edit = admin.getByRole('dialog', { name: `Edit: ${RULE}` });
  await edit.getByLabel('over the last (minutes)').fill('1');
  await edit.getByLabel(/Only with finished jobs at least/).fill('3');
  await edit.getByLabel('Resolve after clear for (minutes)').fill('0');
  await edit.getByLabel(/^Reason/).fill(`${tag}: quick window`);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('status')).toContainText('Saved');
  await edit.getByRole('button', { name: 'Close' }).click();
  await expect(admin.getByRole('row').filter({ hasText: RULE })).toContainText('over the last 1 min');

  // Watching System Health, which will not be reloaded.
  await admin.goto('/admin');
  await expect(admin.getByRole('heading', { name: 'System Health' })).toBeVisible();
  await markPage(admin);
  const banner = admin.getByRole('status', { name: 'Open incidents' });
  await expect(banner).toHaveCount(0);

  // Every image of the model is withheld: its jobs fail and are refunded.
  await gemini.failModels({ [FLASH]: { imageSafety: 1 } });
  const alice = await clientAs('alice');
  for (let i = 0; i < 4; i++) {
    const { error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag}: alerts, a kite ${i}` });
    expect(error).toBeNull();
  }

  await expect(banner).toContainText(INCIDENT_TITLE, { timeout: 120_000 });
  await expect(banner).toContainText(/1 open incident.*Critical/);
  expect(await stillMarked(admin), 'the banner arrived without a reload').toBe(true);
  await expect(admin.getByRole('list', { name: 'Key figures' })).toBeVisible();
  await saveScreenshot(admin, 'alerts-banner');

  await expect.poll(() => opened().length, { message: 'the opened message', timeout: 30_000 }).toBe(1);
  const [message] = opened();
  expect(verifyJobHealthSignature(signingSecret, message!.request.headers, message!.request.body), 'signed with the secret').toBe(true);
  const incident = message!.body.incident as Record<string, unknown>;
  expect({ rule: incident.rule_id, subject: incident.subject }).toEqual({ rule: RULE_ID, subject: FLASH });

  // The incident's story, from the banner; the admin acknowledges it.
  await banner.getByRole('link', { name: 'View the incident' }).click();
  await expect(admin.getByRole('heading', { name: INCIDENT_TITLE })).toBeVisible();
  await admin.getByRole('button', { name: 'Acknowledge' }).click();
  const ack = admin.getByRole('dialog');
  await ack.getByRole('textbox').fill('looking at the safety filter');
  await ack.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(ack.getByRole('status')).toContainText('Done');
  await ack.getByRole('button', { name: 'Close' }).click();
  await expect(admin.getByText('Open, acknowledged', { exact: true })).toBeVisible();
  await expect(admin.getByRole('list', { name: 'Timeline' })).toContainText('Acknowledged by admin: looking at the safety filter');
  await expect(admin.getByRole('link', { name: FLASH }).first()).toBeVisible();
  // The value against the threshold, drawn and named.
  const valueChart = admin.getByRole('region', { name: 'Value at each evaluation' }).getByRole('img', { name: /^Value at each evaluation: Last .+; the threshold is .+\.$/ });
  await expect(valueChart).toBeVisible();
  await expect(valueChart.getByText('Threshold', { exact: true })).toBeVisible();
  await admin.evaluate(() => window.scrollTo(0, 0));
  await saveScreenshot(admin, 'incident');

  await admin.goto('/admin/incidents');
  await expect(admin.getByRole('list', { name: 'Open incidents' })).toContainText(INCIDENT_TITLE);
  await saveScreenshot(admin, 'incidents');

  // The faults stop: the condition clears and the incident resolves, once.
  await gemini.reset(null);
  await expect.poll(() => resolved().length, { message: 'the resolved message', timeout: RESOLVE_TIMEOUT, intervals: [1_000] }).toBe(1);
  await expect(admin.getByText('Nothing is open. Every rule is within its threshold.')).toBeVisible();
  await expect(admin.getByRole('status', { name: 'Open incidents' }), 'the banner went without a reload').toHaveCount(0);
  const [resolution] = resolved();
  expect(verifyJobHealthSignature(signingSecret, resolution!.request.headers, resolution!.request.body), 'signed with the secret').toBe(true);

  // Two more evaluations after it: still exactly one message of each.
  await waitForEvaluations(db, 2);
  expect(opened(), 'exactly one opened message').toHaveLength(1);
  expect(resolved(), 'exactly one resolved message').toHaveLength(1);
});

test('support reads incidents, rules, channels and the log, and is offered no change; an end user gets a 404', async ({ supportPage: support, alicePage: alice }) => {
  const nav = support.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Incidents' }).click();
  await expect(support.getByRole('table', { name: 'Resolved incidents' })).toContainText(INCIDENT_TITLE);
  await support.getByRole('link', { name: INCIDENT_TITLE }).click();
  await expect(support.getByRole('heading', { name: INCIDENT_TITLE })).toBeVisible();
  await expect(support.getByRole('group', { name: 'Incident actions' })).toHaveCount(0);

  await nav.getByRole('link', { name: 'Alerts' }).click();
  await expect(support.getByRole('table', { name: 'Alert rules' })).toBeVisible();
  await expect(support.getByRole('table', { name: 'Alert channels' }).getByRole('row').filter({ hasText: 'e2e receiver' })).toBeVisible();
  await expect(support.getByRole('table', { name: 'Delivery log' })).toBeVisible();
  await expect(support.getByRole('button', { name: /^(Edit|Silence|Add channel|Send test message|Delete)/ })).toHaveCount(0);

  const response = await alice.goto('/admin/incidents');
  expect(response?.status()).toBe(404);
});

/** Waits until the scheduler has finished `count` more evaluations than it had when called. */
async function waitForEvaluations(db: pg.Pool, count: number) {
  const finished = async () => Number((await db.query('select extract(epoch from last_finished_at) as n from public.alert_evaluation_state')).rows[0]!.n);
  const seen: number[] = [await finished()];
  await expect
    .poll(
      async () => {
        const latest = await finished();
        if (latest !== seen.at(-1)) seen.push(latest);
        return seen.length - 1;
      },
      { message: `${count} more evaluations`, timeout: 60_000, intervals: [500] },
    )
    .toBeGreaterThanOrEqual(count);
}
