import type { Page } from '@playwright/test';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges } from '../lib/admin-jobs/admin-job-change.ts';
import { FLASH, PRO } from '../testkit/database/fixtures.ts';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { markPage, stillMarked } from './support/page-mark.ts';
import { expect, test } from './support/test.ts';

/**
 * An admin watching System Health: a job a user enqueues appears and progresses on the admin's
 * screen without a reload, driven by the private admin Realtime topic; a hidden tab leaves the
 * topic and catches up when shown again; the window picker works from the keyboard; support
 * sees the page without the admin-only link; an end user gets a 404.
 */

// Every Gemini call takes 12 s, so the job is visibly running on the admin's screen even when a
// busy machine takes seconds to render a page.
test.use({ geminiLatency: { p50: 12_000, p99: 12_000 } });

/** A key figure's value, found by its label in the list of key figures. */
const kpi = (page: Page, label: string) => page.getByRole('list', { name: 'Key figures' }).getByRole('listitem', { name: label }).getByText(/^[\d,]+$/);
const kpiNumber = async (page: Page, label: string) => Number((await kpi(page, label).textContent())!.replace(/,/g, ''));
const liveStatus = (page: Page) => page.getByRole('status', { name: 'Live updates' });


/** What the browser does when the user switches tabs: the page's visibility and its event. */
async function setVisibility(page: Page, state: 'hidden' | 'visible') {
  await page.evaluate((state) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

test('an admin watches a job alice enqueues appear and progress without a reload', async ({ adminPage: admin, alicePage: alice, db, tag, saveScreenshot }) => {
  await expect(admin.getByRole('heading', { name: 'System Health' })).toBeVisible();
  await expect(admin.getByRole('list', { name: 'Key figures' })).toBeVisible();
  await expect(liveStatus(admin)).toContainText('Live');
  await markPage(admin);
  await expect(admin.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Models' })).toBeVisible();

  const prompt = `${tag}-health: a kite over the sea`;
  await alice.getByLabel('Prompt').fill(prompt);
  await alice.getByLabel('Model').selectOption(FLASH);
  await alice.getByRole('button', { name: 'Generate' }).click();
  // The id from the database, not from alice's next page: the admin's screen is what is watched.
  let jobId = '';
  await expect
    .poll(async () => (jobId = (await db.query('select id from public.jobs where prompt = $1', [prompt])).rows[0]?.id ?? ''), { message: 'the job is created' })
    .not.toBe('');

  // The job shows up in the admin's live activity, runs (the running count includes it), ends.
  const row = admin.getByRole('table', { name: 'Recent job changes' }).getByRole('row').filter({ has: admin.getByRole('link', { name: jobId.slice(0, 8) }) });
  await expect(row).toContainText('Running');
  await expect(kpi(admin, 'Running')).toHaveText(/^[1-9]\d*$/);
  await saveScreenshot(admin, 'system-health-running');
  await expect(row).toContainText('Done');
  await expect(row).toContainText('100%');
  expect(await stillMarked(admin), 'the page was never reloaded').toBe(true);
  await expect(alice).toHaveURL(`/jobs/${jobId}`);

  // The finished job was patched into the charts as it happened: throughput and queue depth draw it.
  const throughput = admin.getByRole('region', { name: 'Throughput by outcome' });
  await expect(throughput).toContainText(/[1-9]\d* jobs? finished in this window/);
  await expect(throughput.getByRole('img', { name: /^Throughput by outcome: [1-9]\d* jobs? finished/ })).toBeVisible();
  const queueDepth = admin.getByRole('region', { name: 'Queue depth' });
  await expect(queueDepth.getByRole('img', { name: /^Queue depth: / })).toBeVisible();
  await expect(queueDepth).toContainText('Now 0 queued, 0 running.');
  // At the viewport's size: a full-page capture resizes the page under the charts, which then draw small.
  await saveScreenshot(admin, 'system-health');
});

test('the window picker switches to 24 hours from the keyboard and the URL follows', async ({ adminPage: admin }) => {
  const picker = admin.getByRole('group', { name: 'Time window' });
  await expect(picker.getByRole('button', { name: '1h' })).toHaveAttribute('aria-pressed', 'true');
  await picker.getByRole('button', { name: '24h' }).focus();
  await admin.keyboard.press('Enter');
  await expect(picker.getByRole('button', { name: '24h', pressed: true })).toBeVisible();
  await expect(admin).toHaveURL(/\?window=24h$/);
  await expect(admin.getByText('average over 24 hours')).toBeVisible();
  await expect(admin.getByRole('list', { name: 'Key figures' })).toBeVisible();

  // Reloading keeps the chosen window: the server prefetches the same one.
  await admin.reload();
  await expect(picker.getByRole('button', { name: '24h', pressed: true })).toBeVisible();
  await expect(admin.getByText('average over 24 hours')).toBeVisible();
});

test.describe('on a small screen', () => {
  // The page must stay usable, keyboard included, where its tables no longer fit.
  test.use({ viewport: { width: 1024, height: 768 } });

  test('support sees System Health without the admin-only Models link', async ({ supportPage: support }) => {
    await expect(support.getByRole('heading', { name: 'System Health' })).toBeVisible();
    const nav = support.getByRole('navigation', { name: 'Console' });
    await expect(nav.getByRole('link', { name: 'Jobs' })).toBeVisible();
    await expect(nav.getByRole('link', { name: 'Models' })).toHaveCount(0);
    await expect(support.getByRole('navigation', { name: 'Account' })).toContainText(`${DEMO_USERS.support.email} · support`);
    await expect(nav.getByRole('link', { name: 'System Health' })).toHaveAttribute('aria-current', 'page');
  });
});

test('an end user opening /admin gets a 404', async ({ alicePage: alice }) => {
  const response = await alice.goto('/admin');
  expect(response?.status()).toBe(404);
  await expect(alice.getByRole('heading', { name: 'System Health' })).toHaveCount(0);
});

test('a hidden tab leaves the admin topic and receives nothing; shown again it rejoins and catches up', async ({ adminPage: admin, clientAs, modelQueues, tag }) => {
  const sent: string[] = [];
  const received: string[] = [];
  admin.on('websocket', (ws) => {
    if (!ws.url().includes('/realtime/v1/')) return;
    ws.on('framesent', (frame) => sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => received.push(String(frame.payload)));
  });
  await admin.reload();
  await expect(liveStatus(admin)).toContainText('Live');
  const queuedBefore = await kpiNumber(admin, 'Queue depth');

  await setVisibility(admin, 'hidden');
  await expect(liveStatus(admin)).toContainText('Paused');
  await expect
    .poll(() => sent.some((f) => f.includes('realtime:admin:jobs') && f.includes('phx_leave')), { message: 'the tab leaves the admin topic' })
    .toBe(true);
  const receivedWhileHidden = received.length;

  // Another admin client stays on the topic: once it has the job's change, the server has sent
  // that change to every subscriber, so the hidden tab's silence is not a matter of timing.
  const watcher = await clientAs('admin');
  await watcher.realtime.setAuth();
  const seen = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    watcher
      .channel(ADMIN_JOBS_TOPIC, { config: { private: true } })
      .on('broadcast', { event: ADMIN_JOBS_EVENT }, (message: { payload?: unknown }) => {
        for (const change of parseAdminJobChanges(message.payload)) seen.add(change.id);
      })
      .subscribe((status, error) => (status === 'SUBSCRIBED' ? resolve() : status === 'CHANNEL_ERROR' ? reject(error) : undefined));
  });

  // A job enqueued while nobody looks; its model paused, so it stays queued for the count.
  await modelQueues.pause(PRO);
  const alice = await clientAs('alice');
  const { data, error } = await alice.rpc('create_job', { p_model_id: PRO, p_prompt: `${tag}-health: enqueued while hidden` });
  expect(error).toBeNull();
  const jobId = (data as { id: string }).id;
  try {
    await expect.poll(() => seen.has(jobId), { message: 'the watching client gets the job change' }).toBe(true);
    expect(received.slice(receivedWhileHidden).filter((f) => f.includes(jobId)), 'frames about the job that reached the hidden tab').toEqual([]);
    await expect(kpi(admin, 'Queue depth')).toHaveText(queuedBefore.toLocaleString('en-US'));

    // Shown again: it rejoins and refetches what it missed, since Realtime does not replay.
    await setVisibility(admin, 'visible');
    await expect(liveStatus(admin)).toContainText('Live');
    await expect(kpi(admin, 'Queue depth')).toHaveText((queuedBefore + 1).toLocaleString('en-US'));
  } finally {
    // Left queued, it would run once the model resumes, under the next journey's eyes.
    await alice.rpc('cancel_jobs', { ids: [jobId], reason: `${tag} cleanup` });
  }
});
