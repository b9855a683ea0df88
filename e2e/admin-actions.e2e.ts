import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestClient, DEMO_PASSWORD, DEMO_USERS } from '../supabase/tests/support/database.ts';
import { FLASH, PRO } from '../supabase/tests/support/fixtures.ts';
import { screenshotDir, startE2eStack, type E2eStack } from './support/e2e-stack.ts';
import { signIn } from './support/sign-in.ts';

/**
 * Staff acting on jobs in a real Chromium against the whole product: an admin fails-and-refunds
 * a running job (balance restored, audit row shown), a support user may refund but is offered
 * no retry or requeue, a bulk cancel from the explorer, and an end user kept out of /admin.
 */
let e2e: E2eStack;
let db: pg.Client;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const pages: Page[] = [];
// Generous for a first `next dev` compile of a route on two cores; events themselves take ms.
const UI_TIMEOUT = 45_000;
const run = Date.now().toString(36);

before(async () => {
  e2e = await startE2eStack();
  db = new pg.Client({ connectionString: e2e.stack.info.dbUrl });
  await db.connect();
  // Compile the explorer and the job page once up front, so the journeys measure the app.
  const admin = await pageFor('admin');
  await admin.goto(`${e2e.appUrl}/admin/jobs`);
  await admin.getByRole('toolbar', { name: 'Bulk actions' }).waitFor();
  await admin.goto(`${e2e.appUrl}/admin/jobs/00000000-0000-4000-8000-000000000000`);
  await admin.getByRole('heading', { name: 'Job not found' }).waitFor();
  await admin.context().close();
});
afterEach(async (t) => {
  // The final state of every page still open: the evidence when a journey fails.
  for (const [i, page] of pages.splice(0).entries()) {
    if (!page.isClosed()) {
      await page.screenshot({ path: path.join(screenshotDir, `admin-actions-last-${t.name.slice(0, 40).replace(/\W+/g, '-')}-${i}.png`), fullPage: true }).catch(() => {});
    }
  }
  if (pageErrors.length) console.error(`browser errors:\n${pageErrors.splice(0).join('\n')}`);
});
after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await db?.end();
  await e2e?.stop();
});

async function pageFor(user: keyof typeof DEMO_USERS): Promise<Page> {
  // A laptop screen: the console must be usable at this size.
  const context = await e2e.browser.newContext({ viewport: { width: 1366, height: 768 } });
  contexts.push(context);
  const page = await context.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  page.setDefaultTimeout(UI_TIMEOUT);
  await signIn(page, e2e.appUrl, user, user === 'admin' || user === 'support' ? '/admin' : '/jobs');
  return page;
}

/** Alice enqueues a job through the API, as the app does. */
async function aliceCreatesJob(prompt: string): Promise<string> {
  const alice = createTestClient(e2e.stack.info, e2e.stack.info.anonKey);
  const { error: signInError } = await alice.auth.signInWithPassword({ email: DEMO_USERS.alice.email, password: DEMO_PASSWORD });
  assert.equal(signInError, null);
  const { data, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: prompt });
  assert.equal(error, null);
  return (data as { id: string }).id;
}

async function aliceBalance(): Promise<number> {
  const { rows } = await db.query('select balance from public.credit_accounts where user_id = $1', [DEMO_USERS.alice.id]);
  return Number(rows[0].balance);
}

/** A paused model accepts jobs but no worker claims them: they stay queued while the journey looks at them. */
async function withModelPaused<T>(fn: () => Promise<T>): Promise<T> {
  await db.query(`update public.models set paused = true where id = $1`, [FLASH]);
  try {
    return await fn();
  } finally {
    await db.query(`update public.models set paused = false where id = $1`, [FLASH]);
  }
}

/** Opens the action's dialog, gives the reason, confirms, and returns the dialog's outcome line. */
async function confirmAction(page: Page, opener: string, confirm: string, reason: string): Promise<string> {
  await page.getByRole('button', { name: opener, exact: true }).click();
  const dialog = page.getByRole('dialog');
  // An empty reason is refused before anything is sent.
  await dialog.getByRole('button', { name: confirm }).click();
  await dialog.getByText('A reason is required').waitFor();
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: confirm }).click();
  const outcome = dialog.getByRole('status');
  await outcome.waitFor();
  return (await outcome.textContent()) ?? '';
}

test('an admin fails-and-refunds a running job: balance restored, audit row shown', async () => {
  const before = await aliceBalance();
  // The job's Gemini call never answers, so the job stays running until staff act.
  e2e.stack.gemini!.force({ outcome: 'hang', count: 1, model: FLASH });
  const prompt = `e2e-admin-${run}: stuck in generation`;
  const jobId = await aliceCreatesJob(prompt);
  assert.equal(await aliceBalance(), before - 1);

  const admin = await pageFor('admin');
  await admin.goto(`${e2e.appUrl}/admin/jobs/${jobId}`);
  await admin.getByTestId('job-status').filter({ hasText: 'running' }).waitFor();
  const reason = `ticket ${run}: generation hung`;
  const outcome = await confirmAction(admin, 'Fail and refund', 'Fail and refund this job', reason);
  assert.match(outcome, /^1 done$/);
  await admin.getByRole('button', { name: 'Close' }).click();

  // The page follows: failed, the refund in the ledger, the audit row with the reason.
  await admin.getByTestId('job-status').filter({ hasText: 'failed' }).waitFor();
  const ledger = admin.getByRole('table', { name: 'Ledger entries' });
  await ledger.getByRole('row').filter({ hasText: 'job_refund' }).filter({ hasText: '+1' }).waitFor();
  const audit = admin.getByRole('table', { name: 'Audit entries' });
  await audit.getByRole('row').filter({ hasText: 'fail_and_refund_jobs' }).filter({ hasText: reason }).waitFor();
  await admin.getByRole('list', { name: 'Timeline' }).getByText(`running → failed`).waitFor();
  assert.equal(await aliceBalance(), before, "alice's balance is restored");
  await admin.screenshot({ path: path.join(screenshotDir, 'job-detail.png'), fullPage: true });

  // The audit log page finds the same row by the job, and the user page shows the balance.
  await admin.goto(`${e2e.appUrl}/admin/audit?target=${jobId}`);
  const row = admin.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: reason });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /admin/);
  await admin.goto(`${e2e.appUrl}/admin/users?email=alice`);
  await admin.getByRole('link', { name: DEMO_USERS.alice.email }).click();
  await admin.getByTestId('user-balance').filter({ hasText: `${before} credits` }).waitFor();
});

test('a support user can fail-and-refund but is offered no retry or requeue', async () => {
  await withModelPaused(async () => {
    const before = await aliceBalance();
    const jobId = await aliceCreatesJob(`e2e-support-${run}: waiting`);
    const support = await pageFor('support');
    await support.goto(`${e2e.appUrl}/admin/jobs/${jobId}`);
    await support.getByTestId('job-status').filter({ hasText: 'queued' }).waitFor();

    const actions = support.getByRole('region', { name: 'Actions' });
    for (const [name, why] of [
      ['Retry', 'Only an admin can retry jobs'],
      ['Requeue', 'Only an admin can requeue jobs'],
      ['Cancel', 'Only an admin can cancel jobs'],
    ] as const) {
      const button = actions.getByRole('button', { name, exact: true });
      assert.equal(await button.isDisabled(), true, `${name} is disabled for support`);
      // The reason is shown and is the button's accessible description.
      assert.equal(await button.getAttribute('aria-describedby').then((id) => support.locator(`[id="${id}"]`).textContent()), why);
    }
    assert.equal(await actions.getByRole('button', { name: 'Fail and refund', exact: true }).isEnabled(), true);

    const outcome = await confirmAction(support, 'Fail and refund', 'Fail and refund this job', `ticket ${run}: support refund`);
    assert.match(outcome, /^1 done$/);
    await support.getByRole('button', { name: 'Close' }).click();
    await support.getByTestId('job-status').filter({ hasText: 'failed' }).waitFor();
    assert.equal(await aliceBalance(), before);

    // The explorer's bulk actions offer support only what support may do.
    await support.goto(`${e2e.appUrl}/admin/jobs`);
    const toolbar = support.getByRole('toolbar', { name: 'Bulk actions' });
    await toolbar.getByRole('button', { name: 'Fail and refund selected' }).waitFor();
    assert.equal(await toolbar.getByRole('button', { name: /Retry|Requeue|Cancel/ }).count(), 0);
    // The model registry is admin-only: support gets the console's not-found page.
    await support.goto(`${e2e.appUrl}/admin/models`);
    await support.getByRole('heading', { name: 'Not found' }).waitFor();
    assert.equal(await support.getByRole('table', { name: 'Models' }).count(), 0);
  });
});

test('an admin cancels jobs in bulk from the explorer, filtered by a prompt search in the URL', async () => {
  await withModelPaused(async () => {
    const marker = `e2e-bulk-${run}`;
    const ids = [await aliceCreatesJob(`${marker} one`), await aliceCreatesJob(`${marker} two`)];
    const admin = await pageFor('admin');
    await admin.goto(`${e2e.appUrl}/admin/jobs`);
    await admin.getByLabel('Job id or prompt').fill(marker);
    await admin.getByLabel('Job id or prompt').press('Enter');
    await admin.waitForURL(new RegExp(`/admin/jobs\\?q=${marker}$`));
    const table = admin.getByRole('table', { name: 'Jobs' });
    for (const id of ids) await table.locator(`tr[data-job-id="${id}"]`).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 2);

    await admin.getByRole('checkbox', { name: 'Select all jobs on this page' }).check();
    const outcome = await confirmAction(admin, 'Cancel selected', 'Cancel 2 jobs', `cleanup ${run}`);
    assert.match(outcome, /^2 done$/);
    await admin.getByRole('button', { name: 'Close' }).click();
    for (const id of ids) await table.locator(`tr[data-job-id="${id}"]`).filter({ hasText: 'Cancelled' }).waitFor();
    const { rows } = await db.query('select status from public.jobs where id = any($1)', [ids]);
    assert.deepEqual(rows.map((r) => r.status), ['cancelled', 'cancelled']);
  });
});

test("an admin pauses and resumes a model's queue and asks for it to be verified", async () => {
  const admin = await pageFor('admin');
  await admin.goto(`${e2e.appUrl}/admin/models`);
  const row = admin.getByRole('table', { name: 'Models' }).locator(`tr[data-model-id="${PRO}"]`);
  await row.waitFor();

  const act = async (label: string, reason: string) => {
    await row.getByRole('button', { name: `${label}: ${PRO}` }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill(reason);
    await dialog.getByRole('button', { name: label, exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: 'Done.' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
  };
  await act('Pause queue', `maintenance ${run}`);
  await row.getByRole('cell', { name: 'paused', exact: true }).waitFor();
  await act('Resume queue', `maintenance over ${run}`);
  await row.getByRole('cell', { name: 'running', exact: true }).waitFor();
  await act('Verify now', `check ${run}`);

  const { rows } = await db.query(`select action, reason from public.audit_log where reason like $1 order by id`, [`%${run}`]);
  assert.deepEqual(
    rows.filter((r) => ['pause_model', 'resume_model', 'verify_model'].includes(r.action)),
    [
      { action: 'pause_model', reason: `maintenance ${run}` },
      { action: 'resume_model', reason: `maintenance over ${run}` },
      { action: 'verify_model', reason: `check ${run}` },
    ],
  );
  // The worker, woken by the request, checks the model with the provider and records it.
  const state = async () => (await db.query(`select verification_state from public.models where id = $1`, [PRO])).rows[0].verification_state;
  const deadline = Date.now() + UI_TIMEOUT;
  while ((await state()) !== 'verified') {
    assert.ok(Date.now() < deadline, 'the worker verified the model');
    await admin.waitForTimeout(100);
  }
});

test('an end user cannot open the console', async () => {
  const alice = await pageFor('alice');
  for (const url of ['/admin', '/admin/jobs', '/admin/users', '/admin/audit']) {
    const response = await alice.goto(`${e2e.appUrl}${url}`);
    assert.equal(response?.status(), 404, `${url} answers 404 to an end user`);
  }
  assert.equal(await alice.getByRole('table', { name: 'Jobs' }).count(), 0);
});
