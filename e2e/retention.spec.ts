import { expect, test } from './support/test.ts';
import { FLASH, moveJobsBack } from '../testkit/database/fixtures.ts';

/**
 * The data life cycle in the console: an admin reads what each table weighs and changes a
 * window with a reason (a window outside its bounds is refused and changes nothing; the result
 * images' window is off until turned on), support
 * reads only, a job older than its timeline's window says it was pruned, and System Health
 * draws 90 days from the hour rollups.
 */

test.use({ viewport: { width: 1366, height: 768 } });

test('an admin changes the timeline window with a reason; out of bounds is refused', async ({ adminPage: admin, db, tag, saveScreenshot }) => {
  try {
    await admin.goto('/admin/retention');
    await expect(admin.getByRole('heading', { name: 'Data retention' })).toBeVisible();
    const tables = admin.getByRole('table', { name: 'Tables' });
    await expect(tables.getByRole('row').filter({ has: admin.getByRole('rowheader', { name: 'public.jobs' }) })).toContainText('kept: the gallery and accounting');
    const windows = admin.getByRole('table', { name: 'Retention windows' });
    const timelines = windows.getByRole('row').filter({ has: admin.getByRole('rowheader', { name: /Job timelines/ }) });
    await expect(timelines).toContainText('21 days');
    await saveScreenshot(admin, 'retention');

    await timelines.getByRole('button', { name: 'Change the window: Job timelines' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('Keep for (days)').fill('3');
    await dialog.getByLabel(/Reason/).fill(`${tag} too short`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.getByText('Job timelines must be kept between 7 and 365 days (asked: 3 days)')).toBeVisible();
    await dialog.getByLabel('Keep for (days)').fill('14');
    await dialog.getByLabel(/Reason/).fill(`${tag} two weeks`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.getByRole('status')).toHaveText('Saved. The next prune pass uses it.');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(timelines).toContainText('14 days');
    await expect(timelines).toContainText('default 21');

    const { rows } = await db.query(`select reason, before, after from public.audit_log where action = 'set_retention_window' and reason like $1 order by id`, [`${tag} %`]);
    expect(rows).toEqual([{ reason: `${tag} two weeks`, before: { keep_days: 21 }, after: { keep_days: 14 } }]);
  } finally {
    await db.query(`update public.retention_policies set keep_days = default_days where kind = 'job_events'`);
  }
});

test('an admin turns the result images\' window on with a reason, and off again with an empty field', async ({ adminPage: admin, db, tag }) => {
  try {
    await admin.goto('/admin/retention');
    const windows = admin.getByRole('table', { name: 'Retention windows' });
    const images = windows.getByRole('row').filter({ has: admin.getByRole('rowheader', { name: /Result images/ }) });
    await expect(images).toContainText('for ever (off)');
    // Storage's rows say what the window makes of them.
    const objects = admin.getByRole('table', { name: 'Tables' }).getByRole('row').filter({ has: admin.getByRole('rowheader', { name: 'storage.objects' }) });
    await expect(objects).toContainText('kept with their jobs');

    await images.getByRole('button', { name: 'Change the window: Result images (and thumbnails)' }).click();
    const dialog = admin.getByRole('dialog');
    await expect(dialog).toContainText('or empty to keep them for ever (off)');
    await dialog.getByLabel('Keep for (days)').fill('90');
    await dialog.getByLabel(/Reason/).fill(`${tag} a quarter`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.getByRole('status')).toHaveText('Saved. The next prune pass uses it.');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(images).toContainText('90 days');
    await expect(images).toContainText('default off');
    await expect(objects).toContainText('90 days, then the images expire (their jobs are kept)');

    await images.getByRole('button', { name: 'Change the window: Result images (and thumbnails)' }).click();
    await dialog.getByLabel('Keep for (days)').fill('');
    await dialog.getByLabel(/Reason/).fill(`${tag} keep them`);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.getByRole('status')).toHaveText('Saved. The next prune pass uses it.');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(images).toContainText('for ever (off)');
    await expect(objects).toContainText('kept with their jobs');

    const { rows } = await db.query(
      `select reason, before, after from public.audit_log
        where action = 'set_retention_window' and detail ->> 'kind' = 'result_images' and reason like $1 order by id`,
      [`${tag} %`],
    );
    expect(rows).toEqual([
      { reason: `${tag} a quarter`, before: { keep_days: null }, after: { keep_days: 90 } },
      { reason: `${tag} keep them`, before: { keep_days: 90 }, after: { keep_days: null } },
    ]);
  } finally {
    await db.query(`update public.retention_policies set keep_days = null where kind = 'result_images'`);
  }
});

test('support reads the page and is offered no change', async ({ supportPage: support }) => {
  await support.goto('/admin/retention');
  await expect(support.getByRole('table', { name: 'Retention windows' })).toBeVisible();
  await expect(support.getByRole('button', { name: /Change the window/ })).toHaveCount(0);
  await expect(support.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Data retention' })).toHaveAttribute('aria-current', 'page');
});

test('a job whose timeline and calls were pruned says so on its page', async ({ adminPage: admin, clientAs, db, tag }) => {
  const alice = await clientAs('alice');
  const { data, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag} an old job` });
  expect(error).toBeNull();
  const id = (data as { id: string }).id;
  await expect
    .poll(async () => (await db.query('select status from public.jobs where id = $1', [id])).rows[0].status, { message: 'the worker finished the job' })
    .toBe('succeeded');
  // Forty days ago, as far as this job is concerned; then the pass runs as its schedule would.
  await moveJobsBack(db, [id], 40);
  await db.query('select public.prune_expired_data()');

  await admin.goto(`/admin/jobs/${id}`);
  await expect(admin.getByRole('region', { name: 'Job facts' }).getByText('Done', { exact: true })).toBeVisible();
  await expect(admin.getByRole('region', { name: 'Timeline' }).getByText("This job's timeline was removed: timelines are kept for 21 days")).toBeVisible();
  await expect(admin.getByRole('region', { name: 'Gemini calls' }).getByText("This job's call records were removed: they are kept for 21 days")).toBeVisible();
  await expect(admin.getByRole('list', { name: 'Timeline' })).toHaveCount(0);
});

test('System Health draws 90 days', async ({ adminPage: admin, clientAs, tag }) => {
  // A job of its own, so the window has a queue sample however soon after the stack's start (and
  // whichever tests before it) this test runs: the minutes not yet rolled up are read live.
  const { error } = await (await clientAs('alice')).rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag} a job in the window` });
  expect(error).toBeNull();
  await admin.goto('/admin?window=90d');
  const picker = admin.getByRole('group', { name: 'Time window' });
  await expect(picker.getByRole('button', { name: '90d', pressed: true })).toBeVisible();
  await expect(admin.getByText('average over 90 days')).toBeVisible();
  await expect(admin.getByRole('region', { name: 'Queue depth' }).getByRole('img', { name: /^Queue depth: / })).toBeVisible();
});
