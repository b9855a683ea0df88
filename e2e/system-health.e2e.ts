import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { DEMO_USERS } from '../supabase/local/testing.ts';
import { screenshotDir, startE2eStack, type E2eStack } from './support/e2e-stack.ts';
import { signIn } from './support/sign-in.ts';

/**
 * An admin watching System Health in a real Chromium against the whole product: a job a user
 * enqueues appears and progresses on the admin's screen without a reload, driven by the
 * private admin Realtime topic; the window picker works from the keyboard; support sees the
 * page without the admin-only link; an end user gets a 404.
 */
let e2e: E2eStack;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
// Generous for a first `next dev` compile of a route on two cores; events themselves take ms.
const UI_TIMEOUT = 45_000;
const UUID = /\/jobs\/([0-9a-f-]{36})$/;

before(async () => {
  e2e = await startE2eStack();
  // Every Gemini call takes 4 s, so the job is visibly running on the admin's screen.
  e2e.stack.gemini!.setLatency({ p50: 4000, p99: 4000 });
  // Compile /admin and /jobs once up front so the journeys measure the app, not the compiler.
  const admin = await pageFor('admin', '/admin');
  await admin.getByRole('heading', { name: 'System Health' }).waitFor();
  const alice = await pageFor('alice', '/jobs');
  await alice.getByRole('button', { name: 'Generate' }).waitFor();
  await Promise.all([admin.context().close(), alice.context().close()]);
});
afterEach(() => {
  if (pageErrors.length) console.error(`browser errors:\n${pageErrors.splice(0).join('\n')}`);
});
after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
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

const kpi = (page: Page, id: string) => page.getByTestId(`kpi-${id}-value`);

test('an admin watches a job alice enqueues appear and progress without a reload', async () => {
  const admin = await pageFor('admin', '/admin');
  await admin.getByRole('heading', { name: 'System Health' }).waitFor();
  await admin.getByRole('list', { name: 'Key figures' }).waitFor();
  await admin.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
  await admin.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
  await admin.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Models' }).waitFor();

  const alice = await pageFor('alice', '/jobs');
  await alice.getByLabel('Prompt').fill('e2e-health: a kite over the sea');
  await alice.getByLabel('Model').selectOption('gemini-2.5-flash-image');
  await alice.getByRole('button', { name: 'Generate' }).click();
  await alice.waitForURL(UUID);
  const jobId = UUID.exec(alice.url())![1]!;

  // The job shows up in the admin's live activity, runs (the running count includes it), ends.
  const row = admin.getByTestId(`activity-${jobId}`);
  await row.waitFor();
  await row.filter({ hasText: 'Running' }).waitFor();
  await kpi(admin, 'running').filter({ hasText: /^[1-9]\d*$/ }).waitFor();
  await admin.screenshot({ path: path.join(screenshotDir, 'system-health-running.png'), fullPage: true });
  await row.filter({ hasText: 'Done' }).waitFor();
  assert.match((await row.textContent()) ?? '', /100%/);
  assert.equal(await admin.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);

  // The finished job was patched into the charts as it happened: throughput and queue depth draw it.
  await admin.getByTestId('chart-throughput').filter({ hasText: /[1-9]\d* jobs? finished in this window/ }).waitFor();
  await admin.locator('[data-testid="chart-throughput"] .recharts-bar-rectangle').first().waitFor();
  await admin.locator('[data-testid="chart-queue-depth"] .recharts-surface').first().waitFor();
  await admin.getByTestId('chart-queue-depth').filter({ hasText: 'Now 0 queued, 0 running.' }).waitFor();
  await admin.screenshot({ path: path.join(screenshotDir, 'system-health.png'), fullPage: true });
});

test('the window picker switches to 24 hours from the keyboard and the URL follows', async () => {
  const admin = await pageFor('admin', '/admin');
  const picker = admin.getByRole('group', { name: 'Time window' });
  await picker.getByRole('button', { name: '1h' }).waitFor();
  assert.equal(await picker.getByRole('button', { name: '1h' }).getAttribute('aria-pressed'), 'true');
  await picker.getByRole('button', { name: '24h' }).focus();
  await admin.keyboard.press('Enter');
  await picker.getByRole('button', { name: '24h', pressed: true }).waitFor();
  await admin.waitForURL(/\?window=24h$/);
  await admin.getByText('average over 24 hours').waitFor();
  await admin.getByRole('list', { name: 'Key figures' }).waitFor();

  // Reloading keeps the chosen window: the server prefetches the same one.
  await admin.reload();
  await picker.getByRole('button', { name: '24h', pressed: true }).waitFor();
  await admin.getByText('average over 24 hours').waitFor();
});

test('support sees System Health without the admin-only Models link', async () => {
  const support = await pageFor('support', '/admin');
  await support.getByRole('heading', { name: 'System Health' }).waitFor();
  const nav = support.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Jobs' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Models' }).count(), 0);
  assert.equal(await support.getByTestId('admin-role').textContent(), 'support');
  assert.equal(await nav.getByRole('link', { name: 'System Health' }).getAttribute('aria-current'), 'page');
});

test('an end user opening /admin gets a 404', async () => {
  const alice = await pageFor('alice', '/jobs');
  const response = await alice.goto(`${e2e.appUrl}/admin`);
  assert.equal(response?.status(), 404);
  assert.equal(await alice.getByRole('heading', { name: 'System Health' }).count(), 0);
});
