import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS } from '../supabase/tests/support/database.ts';
import { screenshotDir, startE2eStack, type E2eStack } from './support/e2e-stack.ts';
import { signIn } from './support/sign-in.ts';

/**
 * The end user's journeys in a real Chromium against the whole product: create a job and watch
 * it live, a failure refunded, switching between jobs, and one user's job hidden from another.
 */
let e2e: E2eStack;
const contexts: BrowserContext[] = [];
const UUID = /\/jobs\/([0-9a-f-]{36})$/;
// Generous for a first `next dev` compile of a route on two cores; events themselves take ms.
const UI_TIMEOUT = 45_000;
const pages: Page[] = [];
const pageErrors: string[] = [];

before(async () => {
  e2e = await startE2eStack();
  // Every Gemini call takes 4 s, so a job is visibly running before it ends.
  e2e.stack.gemini!.setLatency({ p50: 4000, p99: 4000 });
  // `next dev` compiles a route on its first request; compile both pages now so the journeys
  // measure the app, not the compiler (a 5 s compile would hide a whole running phase).
  const page = await signedInPage('alice');
  await page.goto(`${e2e.appUrl}/jobs/00000000-0000-4000-8000-000000000000`);
  await page.getByRole('heading', { name: 'Job not found' }).waitFor();
  await page.context().close();
});
afterEach(async (t) => {
  // The final state of every page (evidence when a journey fails) and any browser errors.
  for (const [i, page] of pages.entries()) {
    if (!page.isClosed()) await shot(page, `last-${t.name.slice(0, 40).replace(/\W+/g, '-')}-${i}`).catch(() => {});
  }
  pages.length = 0;
  if (pageErrors.length) console.error(`browser errors:\n${pageErrors.splice(0).join('\n')}`);
});
after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await e2e?.stop();
});

async function signedInPage(user: keyof typeof DEMO_USERS): Promise<Page> {
  const context = await e2e.browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  page.setDefaultTimeout(UI_TIMEOUT);
  await signIn(page, e2e.appUrl, user, '/jobs');
  await page.getByRole('button', { name: 'Generate' }).waitFor();
  return page;
}

async function balanceOf(page: Page): Promise<number> {
  const balance = page.getByTestId('credit-balance');
  await balance.filter({ hasText: /Credits: \d+/ }).waitFor();
  return Number((await balance.textContent())!.replace(/\D+/g, ''));
}

/** Fills the form and submits; resolves with the new job's id once its page is shown. */
async function createJobInUi(page: Page, prompt: string): Promise<string> {
  if (!page.url().endsWith('/jobs')) await page.goto(`${e2e.appUrl}/jobs`);
  await page.getByLabel('Prompt').fill(prompt);
  await page.getByLabel('Model').selectOption('gemini-2.5-flash-image');
  await page.getByTestId('job-cost').filter({ hasText: 'Cost: 1 credit' }).waitFor();
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForURL(UUID);
  await page.getByRole('heading', { name: 'Job' }).waitFor();
  return UUID.exec(page.url())![1]!;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshotDir, `end-user-${name}.png`), fullPage: true });

test('a user creates a job and watches progress move and the image appear without a reload', async () => {
  const page = await signedInPage('alice');
  const balance = await balanceOf(page);
  const jobId = await createJobInUi(page, 'e2e-live: a lighthouse at dusk');
  // A marker in the page's JS heap: a reload or a full navigation would erase it.
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

  await page.getByTestId('job-stage').filter({ hasText: 'Generating' }).waitFor();
  const midway = Number(await page.getByRole('progressbar').getAttribute('aria-valuenow'));
  assert.ok(midway > 0 && midway < 100, `progress while generating was ${midway}`);
  await shot(page, 'job-running');

  await page.getByRole('img', { name: /Generated image: e2e-live/ }).waitFor();
  await page.waitForFunction(() => ((document.querySelector('img.result-image') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
  assert.equal(await page.getByTestId('job-stage').textContent(), 'Done');
  assert.equal(await page.getByRole('progressbar').getAttribute('aria-valuenow'), '100');
  assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  assert.equal(page.url(), `${e2e.appUrl}/jobs/${jobId}`);
  assert.equal(await balanceOf(page), balance - 1);
  await shot(page, 'job-succeeded');
});

test('a job made to fail shows why, the refund, and the balance back up', async () => {
  const page = await signedInPage('alice');
  const balance = await balanceOf(page);
  // A safety block is permanent: the worker fails the job at once and refunds it.
  e2e.stack.gemini!.force({ outcome: 'blocked', count: 1 });
  await createJobInUi(page, 'e2e-fail: something the filter blocks');
  await page.getByText('Why it failed:').waitFor();
  assert.match((await page.locator('.notice-error').textContent())!, /blocked/);
  await page.getByText('1 credit refunded').waitFor();
  await page.getByTestId('credit-balance').filter({ hasText: `Credits: ${balance}` }).waitFor();
  await shot(page, 'job-failed-refunded');
});

test('a queued job can be cancelled from its page and its credits come back', async () => {
  const page = await signedInPage('alice');
  const balance = await balanceOf(page);
  // A paused model accepts jobs but no worker claims them, so the job stays queued.
  const db = new pg.Client({ connectionString: e2e.stack.info.dbUrl });
  await db.connect();
  try {
    await db.query(`update public.models set paused = true where id = 'gemini-2.5-flash-image'`);
    await createJobInUi(page, 'e2e-cancel: never mind');
    assert.equal(await page.getByTestId('job-stage').textContent(), 'Waiting for a worker');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByText('1 credit refunded').waitFor();
    assert.equal(await page.getByTestId('job-stage').textContent(), 'Cancelled');
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0);
    await page.getByTestId('credit-balance').filter({ hasText: `Credits: ${balance}` }).waitFor();
    await shot(page, 'job-cancelled');
  } finally {
    await db.query(`update public.models set paused = false where id = 'gemini-2.5-flash-image'`);
    await db.end();
  }
});

test('switching between two running jobs never pulls the user back', async () => {
  const page = await signedInPage('alice');
  const first = await createJobInUi(page, 'e2e-switch: first');
  const second = await createJobInUi(page, 'e2e-switch: second');
  // Back to the first through the history, while both are still in flight.
  await page.getByRole('link', { name: '← All jobs' }).click();
  await page.waitForURL(`${e2e.appUrl}/jobs`);
  await page.getByRole('link', { name: /e2e-switch: first/ }).click();
  await page.waitForURL(`${e2e.appUrl}/jobs/${first}`);
  await page.getByTestId('job-stage').filter({ hasText: 'Done' }).waitFor();
  // The second job finishing too must not move the user: wait for it in the database.
  const admin = createTestClient(e2e.stack.info, e2e.stack.info.serviceRoleKey);
  const deadline = Date.now() + UI_TIMEOUT;
  for (;;) {
    const { data } = await admin.from('jobs').select('status').eq('id', second).single();
    if (data?.status === 'succeeded') break;
    assert.ok(Date.now() < deadline, `second job still ${data?.status}`);
    await page.waitForTimeout(200);
  }
  assert.equal(page.url(), `${e2e.appUrl}/jobs/${first}`);
  // Coming back to the second shows its current state, not the one it had when we left.
  await page.goBack();
  await page.goBack();
  await page.waitForURL(`${e2e.appUrl}/jobs/${second}`);
  await page.getByTestId('job-stage').filter({ hasText: 'Done' }).waitFor();
  await shot(page, 'job-switch');
});

test("alice gets a 404 for bob's job page and receives none of its events", async () => {
  const page = await signedInPage('alice');
  const frames: string[] = [];
  // Realtime sockets only: the dev server's own socket echoes page URLs, which name the job.
  page.on('websocket', (ws) => {
    if (ws.url().includes('/realtime/v1/')) ws.on('framereceived', (frame) => frames.push(String(frame.payload)));
  });
  // Alice watches her history (a live subscription to her jobs) while bob's job runs.
  await page.reload();
  await page.getByRole('list', { name: 'Job history' }).waitFor();

  const bob = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  const { error: signInError } = await bob.auth.signInWithPassword({ email: DEMO_USERS.bob.email, password: DEMO_PASSWORD });
  assert.equal(signInError, null);
  const { data: bobsJob, error } = await bob.rpc('create_job', { p_model_id: 'gemini-2.5-flash-image', p_prompt: 'e2e-private: bob only' });
  assert.equal(error, null);
  const bobsJobId = (bobsJob as { id: string }).id;

  const response = await page.goto(`${e2e.appUrl}/jobs/${bobsJobId}`);
  assert.equal(response?.status(), 404);
  await page.getByRole('heading', { name: 'Job not found' }).waitFor();
  await shot(page, 'other-users-job-404');

  // Back on her history while bob's job finishes: nothing about it may reach her socket.
  await page.goto(`${e2e.appUrl}/jobs`);
  await page.getByRole('list', { name: 'Job history' }).waitFor();
  const admin = createTestClient(e2e.stack.info, e2e.stack.info.serviceRoleKey);
  const deadline = Date.now() + UI_TIMEOUT;
  for (;;) {
    const { data } = await admin.from('jobs').select('status').eq('id', bobsJobId).single();
    if (data?.status === 'succeeded') break;
    assert.ok(Date.now() < deadline, `bob's job still ${data?.status}`);
    await page.waitForTimeout(200);
  }
  // Her own job's events do arrive on the same socket, so silence about bob's is meaningful.
  await createJobInUi(page, 'e2e-private: alice control');
  await page.getByTestId('job-stage').filter({ hasText: 'Done' }).waitFor();
  assert.ok(frames.some((f) => f.includes('e2e-private: alice control')), "alice's own job events arrived");
  assert.ok(!frames.some((f) => f.includes(bobsJobId)), "a frame about bob's job reached alice");
  assert.ok(!frames.some((f) => f.includes('e2e-private: bob only')), "bob's prompt reached alice");
});

test('a waiting job shows its place in the queue, moving live as other jobs leave it, then the time left', async () => {
  const page = await signedInPage('alice');
  const db = new pg.Client({ connectionString: e2e.stack.info.dbUrl });
  await db.connect();
  const bob = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  try {
    // A paused model takes jobs but no worker claims them: bob's job waits ahead of alice's.
    await db.query(`update public.models set paused = true where id = 'gemini-2.5-flash-image'`);
    assert.equal((await bob.auth.signInWithPassword({ email: DEMO_USERS.bob.email, password: DEMO_PASSWORD })).error, null);
    const { data: ahead, error } = await bob.rpc('create_job', { p_model_id: 'gemini-2.5-flash-image', p_prompt: 'e2e-queue: ahead' });
    assert.equal(error, null);
    await createJobInUi(page, 'e2e-queue: waiting');
    const position = page.getByTestId('queue-position');
    await position.filter({ hasText: /^2$/ }).waitFor();
    await page.getByTestId('job-eta').filter({ hasText: 'This model is paused' }).waitFor();
    await shot(page, 'job-queued-position');

    // Bob's job leaving the queue moves alice's place without a reload: the queue signal.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const { error: cancelError } = await bob.rpc('cancel_jobs', { ids: [(ahead as { id: string }).id], reason: 'e2e' });
    assert.equal(cancelError, null);
    await position.filter({ hasText: /^1$/ }).waitFor();

    // Resumed, the job is claimed and shows the time left from the model's live latency (the
    // earlier journeys' calls took 4 s each).
    await db.query(`update public.models set paused = false where id = 'gemini-2.5-flash-image'`);
    await page.getByText('Estimated time left').waitFor();
    await page.getByTestId('job-eta').filter({ hasText: /about \d+ s|Any moment now/ }).waitFor();
    await shot(page, 'job-running-eta');
    await page.getByTestId('job-stage').filter({ hasText: 'Done' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
  } finally {
    await db.query(`update public.models set paused = false where id = 'gemini-2.5-flash-image'`);
    await db.end();
  }
});
