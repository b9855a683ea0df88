import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { repoRoot } from '../supabase/local/config.ts';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS } from '../supabase/tests/support/database.ts';
import { FLASH } from '../supabase/tests/support/fixtures.ts';
import { until } from '../supabase/tests/support/wait.ts';
import { verifyJobHealthSignature, WebhookReceiver } from '../supabase/tests/support/webhook-receiver.ts';
import { startE2eStack, type E2eStack } from './support/e2e-stack.ts';
import { signIn } from './support/sign-in.ts';

/**
 * Alerting in a real Chromium against the whole product, with a webhook receiver on this
 * machine: an admin adds a signed webhook channel (a private address refused on save) and its
 * test message arrives; the Gemini stand-in is made to fail, the banner appears on the open
 * System Health page without a reload, the receiver gets exactly one signed "opened" message,
 * the admin acknowledges the incident; the faults stop, one "resolved" message follows and the
 * banner goes. Support reads all of it and changes nothing; an end user gets a 404.
 *
 * The rules are evaluated every 5 seconds here instead of every minute, and the rule under test
 * is set (through the console) to a one-minute window and hold-down, so the journey takes
 * minutes, not a quarter of an hour. Every other rule is switched off, so the receiver hears
 * about this incident only.
 */
let e2e: E2eStack;
let db: pg.Client;
let receiver: WebhookReceiver;
let signingSecret = '';
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
// Generous for a first `next dev` compile of a route on two cores; events themselves take ms.
const UI_TIMEOUT = 45_000;
// Failures leave the one-minute window within two minutes; then the one-minute hold-down.
const RESOLVE_TIMEOUT = 6 * 60_000;
const RULE = 'Job failure rate of a model';
const INCIDENT_TITLE = `${RULE}: ${FLASH}`;
const screenshots = path.join(repoRoot, 'e2e', 'screenshots');

before(async () => {
  e2e = await startE2eStack({ alerts: { allowLoopbackTargets: true, evaluateEveryMs: 5_000 } });
  receiver = await new WebhookReceiver().start();
  db = new pg.Client({ connectionString: e2e.stack.info.dbUrl });
  await db.connect();
  await db.query(`update public.alert_rules set enabled = (id = 'model_failure_rate') where true`);
  e2e.stack.gemini!.setLatency({ p50: 200, p99: 200 });
  // Compile the pages once up front, so the journeys measure the app, not the compiler.
  const admin = await pageFor('admin', '/admin');
  for (const [route, heading] of [['/admin/alerts', 'Alerts'], ['/admin/incidents', 'Incidents']] as const) {
    await admin.goto(`${e2e.appUrl}${route}`);
    await admin.getByRole('heading', { name: heading, exact: true }).waitFor();
  }
  await admin.context().close();
});
afterEach(() => {
  if (pageErrors.length) console.error(`browser errors:\n${pageErrors.splice(0).join('\n')}`);
});
after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await receiver?.stop();
  await db?.end();
  await e2e?.stop();
});

async function pageFor(user: keyof typeof DEMO_USERS, landing: string): Promise<Page> {
  const context = await e2e.browser.newContext({ viewport: { width: 1440, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  page.setDefaultTimeout(UI_TIMEOUT);
  await signIn(page, e2e.appUrl, user, landing);
  return page;
}

const opened = () => receiver.messages('incident.opened');
const resolved = () => receiver.messages('incident.resolved');

test('an admin adds a signed webhook channel, a private address refused on save, and its test message arrives', async () => {
  const admin = await pageFor('admin', '/admin');
  await admin.goto(`${e2e.appUrl}/admin/alerts`);
  await admin.getByRole('button', { name: 'Add channel' }).click();
  const dialog = admin.getByRole('dialog', { name: 'Add a channel' });
  await dialog.getByLabel('Name').fill('e2e receiver');
  await dialog.getByLabel('Kind').selectOption('webhook');
  await dialog.getByLabel('URL').fill('https://10.0.0.7/hooks/jobhealth');
  await dialog.getByRole('button', { name: 'Generate' }).click();
  signingSecret = await dialog.getByLabel(/Signing secret/).inputValue();
  assert.ok(signingSecret.length >= 32, 'a generated secret');
  await dialog.getByLabel(/^Reason/).fill('the on-call receiver');
  await dialog.getByRole('button', { name: 'Save channel' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'is a private, link-local or reserved address' }).waitFor();

  await dialog.getByLabel('URL').fill(receiver.url);
  await dialog.getByRole('button', { name: 'Save channel' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Saved, the secret and the URL's path exist only as hints, in the page and in its data.
  const row = admin.getByRole('table', { name: 'Alert channels' }).getByRole('row').filter({ hasText: 'e2e receiver' });
  await row.filter({ hasText: `…${signingSecret.slice(-4)}` }).waitFor();
  await admin.reload();
  await row.waitFor();
  const html = await admin.content();
  assert.ok(!html.includes(signingSecret), 'the signing secret is not in the page');
  assert.ok(!html.includes(receiver.url), 'the full URL is not in the page');

  await admin.getByRole('button', { name: 'Send test message: e2e receiver' }).click();
  const [test] = await until(() => receiver.messages('test').length === 1 && receiver.messages('test'), { label: 'the test message', timeoutMs: 30_000 });
  assert.equal(verifyJobHealthSignature(signingSecret, test!.request.headers, test!.request.body), true);
  // The delivery log follows without a reload.
  await admin.getByRole('table', { name: 'Delivery log' }).getByRole('row').filter({ hasText: 'Test message' }).filter({ hasText: 'Delivered' }).waitFor();
});

test('Gemini fails: the banner appears without a reload and one signed "opened" message arrives; the faults stop and one "resolved" follows', async () => {
  assert.ok(signingSecret, 'the channel from the first journey');
  const admin = await pageFor('admin', '/admin');

  // The rule under test, made quick through the console: a one-minute window and hold-down.
  await admin.goto(`${e2e.appUrl}/admin/alerts`);
  await admin.getByRole('button', { name: `Edit: ${RULE}` }).click();
  const edit = admin.getByRole('dialog', { name: `Edit: ${RULE}` });
  await edit.getByLabel('over the last (minutes)').fill('1');
  await edit.getByLabel(/Only with finished jobs at least/).fill('3');
  await edit.getByLabel('Resolve after clear for (minutes)').fill('1');
  await edit.getByLabel(/^Reason/).fill('e2e: quick window');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await edit.getByRole('button', { name: 'Close' }).click();
  await admin.getByRole('row').filter({ hasText: RULE }).filter({ hasText: 'over the last 1 min' }).waitFor();

  // Watching System Health, which will not be reloaded.
  await admin.goto(`${e2e.appUrl}/admin`);
  await admin.getByRole('heading', { name: 'System Health' }).waitFor();
  await admin.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  assert.equal(await admin.getByTestId('incident-banner').count(), 0);

  // Every image of the model is withheld: its jobs fail and are refunded.
  e2e.stack.gemini!.setFaults({ models: { [FLASH]: { imageSafety: 1 } } });
  const alice = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  await alice.auth.signInWithPassword({ email: DEMO_USERS.alice.email, password: DEMO_PASSWORD });
  for (let i = 0; i < 4; i++) {
    const { error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: `e2e-alerts: a kite ${i}` });
    assert.equal(error, null);
  }

  const banner = admin.getByTestId('incident-banner');
  await banner.filter({ hasText: INCIDENT_TITLE }).waitFor({ timeout: 120_000 });
  assert.match((await banner.textContent()) ?? '', /1 open incident.*Critical/);
  assert.equal(await admin.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  await admin.getByRole('list', { name: 'Key figures' }).waitFor();
  await admin.screenshot({ path: path.join(screenshots, 'alerts-banner.png') });

  const [message] = await until(() => opened().length > 0 && opened(), { label: 'the opened message', timeoutMs: 30_000 });
  assert.equal(verifyJobHealthSignature(signingSecret, message!.request.headers, message!.request.body), true);
  assert.deepEqual(
    { rule: (message!.body.incident as Record<string, unknown>).rule_id, subject: (message!.body.incident as Record<string, unknown>).subject },
    { rule: 'model_failure_rate', subject: FLASH },
  );

  // The incident's story, from the banner; the admin acknowledges it.
  await banner.getByRole('link', { name: 'View the incident' }).click();
  await admin.getByRole('heading', { name: INCIDENT_TITLE }).waitFor();
  await admin.getByRole('button', { name: 'Acknowledge' }).click();
  const ack = admin.getByRole('dialog');
  await ack.getByRole('textbox').fill('looking at the safety filter');
  await ack.getByRole('button', { name: 'Acknowledge' }).click();
  await ack.getByRole('status').filter({ hasText: 'Done' }).waitFor();
  await ack.getByRole('button', { name: 'Close' }).click();
  await admin.getByTestId('incident-status').filter({ hasText: 'Open, acknowledged' }).waitFor();
  await admin.getByRole('list', { name: 'Timeline' }).filter({ hasText: 'Acknowledged by admin: looking at the safety filter' }).waitFor();
  await admin.getByRole('link', { name: FLASH }).first().waitFor();
  await admin.locator('[data-testid="chart-incident-value"] .recharts-line-curve').waitFor();
  await admin.screenshot({ path: path.join(screenshots, 'incident.png') });

  await admin.goto(`${e2e.appUrl}/admin/incidents`);
  await admin.getByRole('list', { name: 'Open incidents' }).filter({ hasText: INCIDENT_TITLE }).waitFor();
  await admin.screenshot({ path: path.join(screenshots, 'incidents.png') });

  // The faults stop: the condition clears, the hold-down passes, the incident resolves once.
  e2e.stack.gemini!.setFaults({});
  await until(() => resolved().length > 0, { label: 'the resolved message', timeoutMs: RESOLVE_TIMEOUT, intervalMs: 500 });
  await admin.getByTestId('no-open-incidents').waitFor();
  assert.equal(await admin.getByTestId('incident-banner').count(), 0, 'the banner went without a reload');
  assert.equal(verifyJobHealthSignature(signingSecret, resolved()[0]!.request.headers, resolved()[0]!.request.body), true);

  // Two more evaluations: still exactly one of each.
  const evaluatedAt = async () => (await db.query('select last_finished_at from public.alert_evaluation_state')).rows[0].last_finished_at as Date;
  const first = await evaluatedAt();
  await until(async () => (await evaluatedAt()) > first && (await evaluatedAt()), { label: 'an evaluation', timeoutMs: 30_000 });
  const second = await evaluatedAt();
  await until(async () => (await evaluatedAt()) > second, { label: 'another evaluation', timeoutMs: 30_000 });
  assert.equal(opened().length, 1, 'exactly one opened message');
  assert.equal(resolved().length, 1, 'exactly one resolved message');
});

test('support reads incidents, rules, channels and the log, and is offered no change; an end user gets a 404', async () => {
  const support = await pageFor('support', '/admin');
  const nav = support.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Incidents' }).click();
  await support.getByRole('table', { name: 'Resolved incidents' }).filter({ hasText: INCIDENT_TITLE }).waitFor();
  await support.getByRole('link', { name: INCIDENT_TITLE }).click();
  await support.getByRole('heading', { name: INCIDENT_TITLE }).waitFor();
  assert.equal(await support.getByRole('group', { name: 'Incident actions' }).count(), 0);

  await nav.getByRole('link', { name: 'Alerts' }).click();
  await support.getByRole('table', { name: 'Alert rules' }).waitFor();
  await support.getByRole('table', { name: 'Alert channels' }).getByRole('row').filter({ hasText: 'e2e receiver' }).waitFor();
  await support.getByRole('table', { name: 'Delivery log' }).waitFor();
  assert.equal(await support.getByRole('button', { name: /^(Edit|Silence|Add channel|Send test message|Delete)/ }).count(), 0);

  const alice = await pageFor('alice', '/jobs');
  const response = await alice.goto(`${e2e.appUrl}/admin/incidents`);
  assert.equal(response?.status(), 404);
});
