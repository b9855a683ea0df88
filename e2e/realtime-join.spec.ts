import type { Page } from '@playwright/test';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { FLASH, PRO } from '../testkit/database/fixtures.ts';
import { expect, test } from './support/test.ts';

/**
 * Realtime replays nothing: a change committed after a page read its data and before its channel
 * joined reaches the page only because the page reads its data again when it joins. Here the
 * page's join of one topic is held in the browser: the page shows what it read, the change is
 * committed, then the join goes through; on every topic the app joins, the page must come to
 * show the change without a reload.
 */

interface HeldJoin {
  /** Resolves once the page has asked to join the topic (the join is held). */
  asked: Promise<void>;
  /** Lets the held join through. */
  release: () => void;
}

/** Holds the next `phx_join` of `topic` on the page's Realtime socket; every other frame passes. */
async function holdJoin(page: Page, topic: string): Promise<HeldJoin> {
  let asked!: () => void;
  let release!: () => void;
  const askedPromise = new Promise<void>((resolve) => (asked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  await page.routeWebSocket(/\/realtime\/v1\/websocket/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => {
      const isJoin = typeof message === 'string' && message.includes(`"realtime:${topic}"`) && message.includes('"phx_join"');
      if (!isJoin || held) return server.send(message);
      held = true;
      asked();
      void released.then(() => server.send(message));
    });
  });
  return { asked: askedPromise, release };
}

const reason = (tag: string) => `${tag} changed before the page joined`;

test('admin:jobs: a job cancelled between the job page\'s read and its join shows as cancelled', async ({ pageAs, clientAs, modelQueues, tag }) => {
  await modelQueues.pause(PRO);
  const alice = await clientAs('alice');
  const { data, error } = await alice.rpc('create_job', { p_model_id: PRO, p_prompt: `${tag}-join: cancelled before the admin joins` });
  expect(error).toBeNull();
  const jobId = (data as { id: string }).id;

  const admin = await pageAs('admin');
  const join = await holdJoin(admin, 'admin:jobs');
  await admin.goto(`/admin/jobs/${jobId}`);
  const facts = admin.getByRole('region', { name: 'Job facts' });
  await expect(facts.getByText('Queued', { exact: true })).toBeVisible();
  await join.asked;
  expect((await alice.rpc('cancel_jobs', { ids: [jobId], reason: reason(tag) })).error).toBeNull();
  join.release();
  await expect(facts.getByText('Cancelled', { exact: true })).toBeVisible();
});

test('admin:alerts: an incident opened between the Incidents page\'s read and its join is listed as open', async ({ pageAs, db, tag }) => {
  const title = `${tag}-join: opened before the page joined`;
  const admin = await pageAs('admin');
  const join = await holdJoin(admin, 'admin:alerts');
  try {
    await admin.goto('/admin/incidents');
    await expect(admin.getByRole('heading', { name: 'Open', exact: true })).toBeVisible();
    await join.asked;
    await db.query(
      `insert into public.alert_incidents (rule_id, subject, severity, title, summary, unit, threshold, value, peak_value)
       values ('model_failure_rate', $1, 'warning', $1, 'Opened while the page was joining.', 'percent', 10, 50, 50)`,
      [title],
    );
    join.release();
    await expect(admin.getByRole('list', { name: 'Open incidents' }).getByRole('link', { name: title })).toBeVisible();
  } finally {
    await db.query(`update public.alert_incidents set status = 'resolved', resolved_at = now() where subject = $1 and status = 'open'`, [title]);
  }
});

test('user:<id>:jobs: a job cancelled between its page\'s read and the join shows as cancelled', async ({ pageAs, clientAs, modelQueues, tag }) => {
  await modelQueues.pause(PRO);
  const alice = await clientAs('alice');
  const { data, error } = await alice.rpc('create_job', { p_model_id: PRO, p_prompt: `${tag}-join: cancelled before alice's page joins` });
  expect(error).toBeNull();
  const jobId = (data as { id: string }).id;

  const page = await pageAs('alice');
  const join = await holdJoin(page, `user:${DEMO_USERS.alice.id}:jobs`);
  await page.goto(`/jobs/${jobId}`);
  await expect(page.getByText('Queued', { exact: true }).first()).toBeVisible();
  await join.asked;
  expect((await alice.rpc('cancel_jobs', { ids: [jobId], reason: reason(tag) })).error).toBeNull();
  join.release();
  await expect(page.getByText('Cancelled', { exact: true }).first()).toBeVisible();
});

test('queue:<model>: a job leaving the queue between the page\'s read and the join moves the position up', async ({ pageAs, clientAs, modelQueues, tag }) => {
  await modelQueues.pause(FLASH);
  const alice = await clientAs('alice');
  const create = async (prompt: string) => {
    const { data, error } = await alice.rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag}-join: ${prompt}` });
    expect(error).toBeNull();
    return (data as { id: string }).id;
  };
  const ahead = await create('ahead in the queue');
  const mine = await create('behind it');
  try {
    const page = await pageAs('alice');
    const join = await holdJoin(page, `queue:${FLASH}`);
    await page.goto(`/jobs/${mine}`);
    const shown = page.getByLabel('Queue', { exact: true }).getByRole('definition').first();
    await expect(shown).toHaveText(/^\d+$/);
    const before = Number(await shown.textContent());
    expect(before).toBeGreaterThanOrEqual(2);
    await join.asked;
    expect((await alice.rpc('cancel_jobs', { ids: [ahead], reason: reason(tag) })).error).toBeNull();
    join.release();
    await expect(shown).toHaveText(String(before - 1));
  } finally {
    await alice.rpc('cancel_jobs', { ids: [ahead, mine], reason: `${tag} cleanup` });
  }
});
