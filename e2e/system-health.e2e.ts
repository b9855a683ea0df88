import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS } from '../supabase/tests/support/database.ts';
import { screenshotDir, startE2eStack, type E2eStack } from './support/e2e-stack.ts';
import { signIn } from './support/sign-in.ts';
import { until } from '../supabase/tests/support/wait.ts';

/**
 * An admin watching System Health in a real Chromium against the whole product: a job a user
 * enqueues appears and progresses on the admin's screen without a reload, driven by the
 * private admin Realtime topic; a hidden tab leaves the topic and catches up when shown again;
 * the window picker works from the keyboard; support sees the page without the admin-only
 * link; an end user gets a 404.
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

/** Waits for something observed outside the page (frames, another client's messages). */
/**
 * What the browser does when the user switches tabs: the page's visibility and its event. A
 * string, not a function: the TypeScript loader wraps functions in a helper the page lacks.
 */
async function setVisibility(page: Page, state: 'hidden' | 'visible') {
  await page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => '${state}' === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

test('a hidden tab leaves the admin topic and receives nothing; shown again it rejoins and catches up', async () => {
  const admin = await pageFor('admin', '/admin');
  const sent: string[] = [];
  const received: string[] = [];
  admin.on('websocket', (ws) => {
    if (!ws.url().includes('/realtime/v1/')) return;
    ws.on('framesent', (frame) => sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => received.push(String(frame.payload)));
  });
  await admin.reload();
  await admin.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
  const queuedBefore = Number((await kpi(admin, 'queued').textContent())!.replace(/,/g, ''));

  await setVisibility(admin, 'hidden');
  await admin.getByTestId('live-status').filter({ hasText: 'Paused' }).waitFor();
  await until(() => sent.some((f) => f.includes('realtime:admin:jobs') && f.includes('phx_leave')), { timeoutMs: UI_TIMEOUT, label: 'the tab to leave the admin topic' });
  const receivedWhileHidden = received.length;

  // Another admin client stays on the topic: once it has the job's change, the server has sent
  // that change to every subscriber, so the hidden tab's silence is not a matter of timing.
  const watcher = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  assert.equal((await watcher.auth.signInWithPassword({ email: DEMO_USERS.admin.email, password: DEMO_PASSWORD })).error, null);
  await watcher.realtime.setAuth();
  const seen = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    watcher
      .channel('admin:jobs', { config: { private: true } })
      .on('broadcast', { event: 'job_changed' }, (message: { payload?: { id?: string } }) => void seen.add(String(message.payload?.id)))
      .subscribe((status, error) => (status === 'SUBSCRIBED' ? resolve() : status === 'CHANNEL_ERROR' ? reject(error) : undefined));
  });

  // A job enqueued while nobody looks; its model paused, so it stays queued for the count.
  const db = new pg.Client({ connectionString: e2e.stack.info.dbUrl });
  await db.connect();
  const alice = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  let jobId: string | undefined;
  try {
    await db.query(`update public.models set paused = true where id = 'gemini-3-pro-image-preview'`);
    assert.equal((await alice.auth.signInWithPassword({ email: DEMO_USERS.alice.email, password: DEMO_PASSWORD })).error, null);
    const { data, error } = await alice.rpc('create_job', { p_model_id: 'gemini-3-pro-image-preview', p_prompt: 'e2e-health: enqueued while hidden' });
    assert.equal(error, null);
    jobId = (data as { id: string }).id;
    await until(() => seen.has(jobId!), { timeoutMs: UI_TIMEOUT, label: 'the watching client to get the job change' });
    assert.ok(!received.slice(receivedWhileHidden).some((f) => f.includes(jobId!)), 'a hidden tab received a job change');
    assert.equal(Number((await kpi(admin, 'queued').textContent())!.replace(/,/g, '')), queuedBefore);

    // Shown again: it rejoins and refetches what it missed, since Realtime does not replay.
    await setVisibility(admin, 'visible');
    await admin.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
    await kpi(admin, 'queued').filter({ hasText: new RegExp(`^${queuedBefore + 1}$`) }).waitFor();
  } finally {
    if (jobId) await alice.rpc('cancel_jobs', { ids: [jobId], reason: 'e2e cleanup' });
    await db.query(`update public.models set paused = false where id = 'gemini-3-pro-image-preview'`);
    await db.end();
    await watcher.removeAllChannels();
    watcher.realtime.disconnect();
  }
});
