import type { Page } from '@playwright/test';
import { FLASH } from '../testkit/database/fixtures.ts';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { expect, test } from './support/test.ts';

/**
 * The console on the screens people have: a 1280×800 laptop (the journeys' viewport) and a
 * 390 px phone. On every console page every action is in view: no table scrolls sideways on
 * the laptop, the page itself never does, and where a table is wider than a phone its data
 * scrolls in its own box while each button, checkbox and select stays inside that box and the
 * window. Then the sign-in page as a newcomer meets it: the product's name, the demo accounts
 * (this stack is local), and a clear error for a wrong password and for an account with no
 * access.
 */
const PHONE = { width: 390, height: 844 };
const SPEND_RULE = 'spend_per_hour';

/** What is out of view on the page as it is now; empty when everything is in view. */
async function layoutProblems(page: Page, { tablesMayScroll }: { tablesMayScroll: boolean }): Promise<string[]> {
  return page.evaluate((tablesMayScroll) => {
    const problems: string[] = [];
    const width = window.innerWidth;
    const page = document.scrollingElement!;
    if (page.scrollWidth > width) problems.push(`the page scrolls sideways: ${page.scrollWidth} px in a ${width} px window`);
    const name = (el: Element) => el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? el.tagName;
    for (const table of document.querySelectorAll('main table')) {
      const box = table.closest<HTMLElement>('.table-scroll');
      if (!box) problems.push(`table "${name(table)}" is not in a scrolling box`);
      else if (!tablesMayScroll && box.scrollWidth > box.clientWidth + 1) {
        problems.push(`table "${name(table)}" scrolls sideways: ${box.scrollWidth} px in ${box.clientWidth} px`);
      }
    }
    for (const control of document.querySelectorAll<HTMLElement>('main button, main input[type="checkbox"], main select')) {
      const r = control.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue; // not shown (a closed dialog's)
      const box = control.closest<HTMLElement>('.table-scroll')?.getBoundingClientRect();
      const left = Math.max(0, box?.left ?? 0);
      const right = Math.min(width, box?.right ?? width);
      if (r.left < left - 0.5 || r.right > right + 0.5) {
        problems.push(`"${name(control)}" is cut off: ${Math.round(r.left)}-${Math.round(r.right)} px, visible ${Math.round(left)}-${Math.round(right)} px`);
      }
    }
    return problems;
  }, tablesMayScroll);
}

async function expectActionsInView(page: Page, path: string, tablesMayScroll: boolean) {
  await page.goto(path);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.locator('.skeleton'), `${path} finishes loading`).toHaveCount(0);
  // Live pages may still re-render as data arrives: polled, never slept on.
  await expect.poll(() => layoutProblems(page, { tablesMayScroll }), { message: `${path} at ${page.viewportSize()!.width} px` }).toEqual([]);
}

test("every console page keeps its actions in view at a laptop's width and a phone's", async ({ adminPage: admin, clientAs, db, tag }) => {
  test.setTimeout(6 * 60_000);
  // Something on every page: a finished job, a channel (its row has actions), and an open
  // incident (the banner over every page, and a story). The channel points at a closed local
  // port and the rule is silenced, so nothing is sent anywhere.
  const alice = await clientAs('alice');
  const { data: job, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag}: layout, a lighthouse at dusk` });
  expect(error).toBeNull();
  const jobId = (job as { id: string }).id;
  await expect.poll(async () => (await db.query('select status from public.jobs where id = $1', [jobId])).rows[0]?.status).toBe('succeeded');

  const adminClient = await clientAs('admin');
  const channel = `${tag} layout channel`;
  const created = await adminClient.rpc('create_alert_channel', {
    p_name: channel,
    p_kind: 'webhook',
    p_url: 'http://127.0.0.1:9/layout',
    p_reason: `${tag}: a row with actions`,
    p_signing_secret: 'layout-check-signing-secret-0123456789',
  });
  expect(created.error).toBeNull();

  const { rows: [rule] } = await db.query(`select * from public.alert_rules where id = $1`, [SPEND_RULE]);
  try {
    // Any spend at all fires: the job above cost something within the hour.
    await db.query(
      `update public.alert_rules set enabled = true, threshold = 0, hold_down_minutes = 0,
              silenced_until = now() + interval '1 hour', silence_reason = $2 where id = $1`,
      [SPEND_RULE, `${tag}: layout check`],
    );
    let incidentId = '';
    await expect
      .poll(
        async () => {
          incidentId = (await db.query(`select id from public.alert_incidents where rule_id = $1 and status = 'open'`, [SPEND_RULE])).rows[0]?.id ?? '';
          return incidentId;
        },
        { message: 'the incident opens' },
      )
      .not.toBe('');

    const pages = [
      '/admin',
      '/admin/jobs',
      `/admin/jobs/${jobId}`,
      '/admin/incidents',
      `/admin/incidents/${incidentId}`,
      '/admin/alerts',
      '/admin/models',
      '/admin/users?email=a',
      `/admin/users/${DEMO_USERS.alice.id}`,
      '/admin/audit',
    ];
    await expect(admin.getByRole('status', { name: 'Open incidents' })).toBeVisible();
    for (const path of pages) await expectActionsInView(admin, path, false);
    await admin.setViewportSize(PHONE);
    for (const path of pages) await expectActionsInView(admin, path, true);

    // On the phone the rules' actions are there to be used, not only measured.
    await admin.goto('/admin/alerts');
    await admin.getByRole('button', { name: 'Edit: Gemini spend per hour' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Edit: Gemini spend per hour' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  } finally {
    // Off, with no hold-down yet, so its incident resolves at the next evaluation; the channel goes.
    await db.query('update public.alert_rules set enabled = false where id = $1', [SPEND_RULE]);
    const removed = await adminClient.rpc('delete_alert_channel', { p_channel_id: (created.data as { id: string }).id, p_reason: `${tag}: layout check done` });
    expect(removed.error).toBeNull();
    try {
      // The next journeys start with no banner.
      await expect
        .poll(async () => (await db.query(`select count(*)::integer as n from public.alert_incidents where rule_id = $1 and status = 'open'`, [SPEND_RULE])).rows[0].n, {
          message: 'the incident resolves',
        })
        .toBe(0);
    } finally {
      await db.query(
        `update public.alert_rules set enabled = $2, threshold = $3, hold_down_minutes = $4, silenced_until = $5, silence_reason = $6 where id = $1`,
        [SPEND_RULE, rule.enabled, rule.threshold, rule.hold_down_minutes, rule.silenced_until, rule.silence_reason],
      );
    }
  }
});

test('the sign-in page: the product, the demo accounts on this local stack, and clear errors', async ({ page, db, tag, saveScreenshot }) => {
  await page.goto('/sign-in');
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  await expect(page.getByText('Job Health', { exact: true })).toBeVisible();
  const demo = page.getByRole('region', { name: 'Demo accounts' });
  const formError = page.getByRole('form', { name: 'Sign in' }).getByRole('alert');
  await expect(demo).toContainText('jobhealth-demo');
  await expect(demo.getByRole('button')).toHaveCount(Object.keys(DEMO_USERS).length);

  // A wrong password: said plainly, and nobody is signed in. (A demo account fills the form in
  // first, which also shows the page's scripts are running.)
  await demo.getByRole('button', { name: new RegExp(DEMO_USERS.admin.email) }).click();
  await expect(page.getByLabel('Email')).toHaveValue(DEMO_USERS.admin.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(formError).toHaveText('Wrong email or password.');
  await expect(page).toHaveURL('/sign-in');

  // An end user sent here from the console: right password, no access, and left signed out.
  await page.goto('/sign-in?next=/admin/jobs');
  await demo.getByRole('button', { name: new RegExp(DEMO_USERS.alice.email) }).click();
  await expect(page.getByLabel('Email')).toHaveValue(DEMO_USERS.alice.email);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(formError).toHaveText(`${DEMO_USERS.alice.email} has no access to the staff console. Sign in with a support or admin account.`);
  await page.goto('/jobs');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fjobs$/);

  // A suspended account: Auth refuses it, and the form says why.
  const email = `${tag}-suspended@example.com`;
  // Made as the seed makes its accounts, then suspended as an admin of the project would.
  const {
    rows: [suspended],
  } = await db.query(
    `insert into auth.users (id, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, banned_until)
     values (gen_random_uuid(), $1, extensions.crypt($2, extensions.gen_salt('bf', 4)), now(),
             '{"provider": "email", "providers": ["email"]}', '{}', now() + interval '1 day')
     returning id`,
    [email, 'suspended-password'],
  );
  try {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('suspended-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(formError).toHaveText('This account has no access: it has been suspended. Ask an admin to restore it.');
  } finally {
    await db.query('delete from auth.users where id = $1', [suspended.id]);
  }

  // A demo account fills the form in; the picture is of that, then the admin lands on the console.
  await page.goto('/sign-in');
  await demo.getByRole('button', { name: new RegExp(DEMO_USERS.admin.email) }).click();
  await expect(page.getByLabel('Email')).toHaveValue(DEMO_USERS.admin.email);
  await expect(page.getByLabel('Password')).toHaveValue('jobhealth-demo');
  expect(await layoutProblems(page, { tablesMayScroll: false })).toEqual([]);
  await saveScreenshot(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/admin');

  await page.setViewportSize(PHONE);
  await page.goto('/sign-in');
  await expect(page.getByRole('heading', { name: 'Sign in', level: 1 })).toBeVisible();
  expect(await layoutProblems(page, { tablesMayScroll: false })).toEqual([]);
});
