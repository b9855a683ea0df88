import type { Page } from '@playwright/test';
import type { DatabaseClient } from '@/lib/supabase/database';
import type pg from 'pg';
import { shortUserId } from '@/components/format/short-id';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { FLASH, PRO } from '../testkit/database/fixtures.ts';
import { TRACE_URL_TEMPLATE } from './support/e2e-env.ts';
import { expect, test } from './support/test.ts';

/**
 * Staff acting on jobs: an admin fails-and-refunds a running job (balance restored, audit row
 * shown), a support user may refund but is offered no retry or requeue, a bulk cancel from the
 * explorer, pausing and verifying a model, and an end user kept out of /admin.
 */

/** Enqueues a job through the API, as the app does; resolves with its id. */
async function createJob(user: DatabaseClient, prompt: string): Promise<string> {
  const { data, error } = await user.rpc('create_job', { p_model_id: FLASH, p_prompt: prompt });
  expect(error).toBeNull();
  return (data as { id: string }).id;
}

/** The job's status as its page shows it: the badge among the job's facts. */
function jobStatus(page: Page) {
  return page.getByRole('region', { name: 'Job facts' }).getByText(/^(Queued|Running|Done|Failed|Cancelled)$/);
}

async function aliceBalance(db: pg.Pool): Promise<number> {
  const { rows } = await db.query('select balance from public.credit_accounts where user_id = $1', [DEMO_USERS.alice.id]);
  return Number(rows[0].balance);
}

/**
 * Opens the action's dialog, checks that an empty reason is refused before anything is sent,
 * gives the reason, confirms, and returns the dialog's outcome line.
 */
async function confirmAction(page: Page, opener: string, confirm: string, reason: string) {
  await page.getByRole('button', { name: opener, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: confirm }).click();
  await expect(dialog.getByText('A reason is required')).toBeVisible();
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: confirm }).click();
  return dialog.getByRole('status');
}

test('an admin fails-and-refunds a running job: balance restored, audit row shown', async ({ adminPage: admin, clientAs, db, gemini, tag, saveScreenshot }) => {
  const before = await aliceBalance(db);
  // The job's first Gemini call gets a 503 and its retry never answers, so the job stays
  // running until staff act.
  await gemini.force({ outcome: 'error503', count: 1, model: FLASH });
  await gemini.force({ outcome: 'hang', count: 1, model: FLASH });
  const alice = await clientAs('alice');
  const jobId = await createJob(alice, `${tag}-admin: stuck in generation`);
  expect(await aliceBalance(db)).toBe(before - 1);

  await admin.goto(`/admin/jobs/${jobId}`);
  await expect(jobStatus(admin)).toHaveText('Running');
  await expect
    .poll(async () => (await db.query('select count(*)::int as n from public.provider_calls where job_id = $1', [jobId])).rows[0].n, {
      message: 'the 503 is recorded',
    })
    .toBe(1);
  const reason = `ticket ${tag}: generation hung`;
  await expect(await confirmAction(admin, 'Fail and refund', 'Fail and refund this job', reason)).toHaveText('1 done');
  await admin.getByRole('button', { name: 'Close' }).click();

  // The page follows: failed, the refund in the ledger, the audit row with the reason.
  await expect(jobStatus(admin)).toHaveText('Failed');
  const ledger = admin.getByRole('table', { name: 'Ledger entries' });
  await expect(ledger.getByRole('row').filter({ hasText: 'job_refund' }).filter({ hasText: '+1' })).toBeVisible();
  const audit = admin.getByRole('table', { name: 'Audit entries' });
  await expect(audit.getByRole('row').filter({ hasText: 'fail_and_refund_jobs' }).filter({ hasText: reason })).toBeVisible();
  await expect(admin.getByRole('list', { name: 'Timeline' }).getByText('running → failed')).toBeVisible();
  expect(await aliceBalance(db), "alice's balance is restored").toBe(before);

  // The job's spans, from its timeline and calls: the queue, the attempt with its 503 and the
  // backoff after it, and the end by the admin; its trace id, linked to the tracing tool.
  const waterfall = admin.getByRole('list', { name: 'Trace waterfall' });
  const rows = waterfall.getByRole('listitem');
  await expect(rows.filter({ hasText: 'In the queue' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Attempt 1' })).toHaveCount(1);
  await expect(rows.filter({ hasText: `Gemini ${FLASH}` }).filter({ hasText: 'server_error · HTTP 503' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Failed and refunded' }).filter({ hasText: `by admin: ${reason}` })).toHaveCount(1);
  const { rows: traced } = await db.query<{ traceparent: string }>('select traceparent from public.jobs where id = $1', [jobId]);
  const traceId = traced[0]!.traceparent.split('-')[1]!;
  await expect(admin.getByRole('region', { name: 'Trace', exact: true })).toContainText(`Trace id ${traceId}`);
  await expect(admin.getByRole('link', { name: 'Open the trace' })).toHaveAttribute('href', TRACE_URL_TEMPLATE.replace('{traceId}', traceId));
  await saveScreenshot(admin.getByRole('region', { name: 'Trace', exact: true }), 'job-trace-waterfall');
  await saveScreenshot(admin, 'admin-job-detail', { fullPage: true });

  // The audit log page finds the same row by the job, and the user page shows the balance.
  await admin.goto(`/admin/audit?target=${jobId}`);
  await expect(admin.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: reason })).toContainText('admin');
  await admin.goto('/admin/users?email=alice');
  await admin.getByRole('link', { name: DEMO_USERS.alice.email }).click();
  await expect(admin.getByLabel('Balance', { exact: true })).toHaveText(`${before} credits`);
});

test('a support user can fail-and-refund but is offered no retry or requeue', async ({ supportPage: support, clientAs, db, modelQueues, tag }) => {
  await modelQueues.pause(FLASH);
  const before = await aliceBalance(db);
  const alice = await clientAs('alice');
  const jobId = await createJob(alice, `${tag}-support: waiting`);
  await support.goto(`/admin/jobs/${jobId}`);
  await expect(jobStatus(support)).toHaveText('Queued');

  const actions = support.getByRole('region', { name: 'Actions' });
  for (const [name, why] of [
    ['Retry', 'Only an admin can retry jobs'],
    ['Requeue', 'Only an admin can requeue jobs'],
    ['Cancel', 'Only an admin can cancel jobs'],
  ] as const) {
    const button = actions.getByRole('button', { name, exact: true });
    await expect(button, `${name} is disabled for support`).toBeDisabled();
    // The reason is shown beside it and is the button's accessible description.
    await expect(button).toHaveAccessibleDescription(why);
  }
  await expect(actions.getByRole('button', { name: 'Fail and refund', exact: true })).toBeEnabled();

  await expect(await confirmAction(support, 'Fail and refund', 'Fail and refund this job', `ticket ${tag}: support refund`)).toHaveText('1 done');
  await support.getByRole('button', { name: 'Close' }).click();
  await expect(jobStatus(support)).toHaveText('Failed');
  expect(await aliceBalance(db)).toBe(before);

  // The explorer's bulk actions offer support only what support may do.
  await support.goto('/admin/jobs');
  const toolbar = support.getByRole('toolbar', { name: 'Bulk actions' });
  await expect(toolbar.getByRole('button', { name: 'Fail and refund selected' })).toBeVisible();
  await expect(toolbar.getByRole('button', { name: /Retry|Requeue|Cancel/ })).toHaveCount(0);
  // The model registry is admin-only: support gets the console's not-found page.
  await support.goto('/admin/models');
  await expect(support.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(support.getByRole('table', { name: 'Models' })).toHaveCount(0);
});

test('an admin cancels jobs in bulk from the explorer, filtered by a prompt search in the URL', async ({ adminPage: admin, clientAs, db, modelQueues, tag, saveScreenshot }) => {
  await modelQueues.pause(FLASH);
  const marker = `${tag}-bulk`;
  const alice = await clientAs('alice');
  const ids = [await createJob(alice, `${marker} one`), await createJob(alice, `${marker} two`)];
  await admin.goto('/admin/jobs');
  await admin.getByLabel('Job id or prompt').fill(marker);
  await admin.getByLabel('Job id or prompt').press('Enter');
  await expect(admin).toHaveURL(new RegExp(`/admin/jobs\\?q=${marker}$`));
  const table = admin.getByRole('table', { name: 'Jobs' });
  const rowOf = (id: string) => table.getByRole('row').filter({ has: admin.getByRole('link', { name: `Job ${id}` }) });
  for (const id of ids) await expect(rowOf(id)).toBeVisible();
  // The header row and the two jobs: the search found nothing else.
  await expect(table.getByRole('row')).toHaveCount(3);
  // Whose job it is reads apart from the other demo users (their ids all start 00000000), the full id a hover away.
  const owner = rowOf(ids[0]!).getByRole('link', { name: shortUserId(DEMO_USERS.alice.id), exact: true });
  await expect(owner).toHaveAttribute('title', DEMO_USERS.alice.id);
  await expect(owner).toHaveAttribute('href', `/admin/users/${DEMO_USERS.alice.id}`);
  expect(shortUserId(DEMO_USERS.alice.id)).not.toBe(shortUserId(DEMO_USERS.bob.id));

  await admin.getByRole('checkbox', { name: 'Select all jobs on this page' }).check();
  await expect(await confirmAction(admin, 'Cancel selected', 'Cancel 2 jobs', `cleanup ${tag}`)).toHaveText('2 done');
  await admin.getByRole('button', { name: 'Close' }).click();
  for (const id of ids) await expect(rowOf(id)).toContainText('Cancelled');
  const { rows } = await db.query('select status from public.jobs where id = any($1)', [ids]);
  expect(rows.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
  await saveScreenshot(admin, 'job-explorer');
});

test("an admin pauses and resumes a model's queue and asks for it to be verified", async ({ adminPage: admin, db, tag }) => {
  await admin.goto('/admin/models');
  const row = admin.getByRole('table', { name: 'Models' }).getByRole('row').filter({ has: admin.getByRole('rowheader', { name: PRO }) });
  await expect(row).toBeVisible();

  const act = async (label: string, reason: string) => {
    await row.getByRole('button', { name: `${label}: ${PRO}` }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill(reason);
    await dialog.getByRole('button', { name: label, exact: true }).click();
    await expect(dialog.getByRole('status')).toHaveText('Done.');
    await dialog.getByRole('button', { name: 'Close' }).click();
  };
  await act('Pause queue', `${tag} maintenance`);
  await expect(row.getByRole('cell', { name: 'paused', exact: true })).toBeVisible();
  await act('Resume queue', `${tag} maintenance over`);
  await expect(row.getByRole('cell', { name: 'running', exact: true })).toBeVisible();
  await act('Verify now', `${tag} check`);

  const { rows } = await db.query(
    `select action, reason from public.audit_log where reason like $1 and action in ('pause_model', 'resume_model', 'verify_model') order by id`,
    [`${tag} %`],
  );
  expect(rows).toEqual([
    { action: 'pause_model', reason: `${tag} maintenance` },
    { action: 'resume_model', reason: `${tag} maintenance over` },
    { action: 'verify_model', reason: `${tag} check` },
  ]);
  // The worker, woken by the request, checks the model with the provider and records it.
  await expect
    .poll(async () => (await db.query('select verification_state from public.models where id = $1', [PRO])).rows[0].verification_state, {
      message: 'the worker verified the model',
    })
    .toBe('verified');
});

test('an end user cannot open the console', async ({ alicePage: alice }) => {
  for (const url of ['/admin', '/admin/jobs', '/admin/users', '/admin/audit', '/admin/retention']) {
    const response = await alice.goto(url);
    expect(response?.status(), `${url} answers 404 to an end user`).toBe(404);
  }
  await expect(alice.getByRole('table', { name: 'Jobs' })).toHaveCount(0);
});
