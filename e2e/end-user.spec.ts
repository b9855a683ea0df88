import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import type pg from 'pg';
import sharp from 'sharp';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { FLASH, moveJobsBack } from '../testkit/database/fixtures.ts';
import { signIn } from '../testkit/browser/sign-in.ts';
import { createTestClient } from '../testkit/http/clients.ts';
import { markPage, stillMarked } from './support/page-mark.ts';
import { expect, test } from './support/test.ts';

/**
 * The end user's journeys: create a job and watch it live (over the user's private topic, never
 * postgres_changes), the gallery, a "job finished" notice, a failure refunded, a queued job
 * cancelled, switching between jobs, one user's job hidden from another, the queue position, the
 * user's own images (download, delete, generate again, expired), and the notices ending with the session.
 */

// Every Gemini call takes 12 s, so a job is visibly running before it ends even when a busy
// machine takes seconds to render a page.
test.use({ geminiLatency: { p50: 12_000, p99: 12_000 } });

const JOB_URL = /\/jobs\/([0-9a-f-]{36})$/;

/**
 * The page's session cookie (as @supabase/ssr writes it: base64url JSON, possibly in chunks) with
 * its access token's claims passed through `change` (the token as it was when `change` returns
 * them unchanged) and the signature left as it was.
 */
async function sessionCookieWithClaims(page: Page, change: (claims: { app_metadata?: object }) => object): Promise<string> {
  const chunks = (await page.context().cookies())
    .filter((cookie) => /-auth-token(\.\d+)?$/.test(cookie.name))
    .sort((a, b) => Number(a.name.split('.').pop()) - Number(b.name.split('.').pop()));
  expect(chunks.length, 'the page has a session cookie').toBeGreaterThan(0);
  const value = chunks.map((cookie) => cookie.value).join('');
  const session = JSON.parse(Buffer.from(value.replace(/^base64-/, ''), 'base64url').toString());
  const [header, payload, signature] = session.access_token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const changed = change(claims);
  const body = changed === claims ? payload : Buffer.from(JSON.stringify(changed)).toString('base64url');
  session.access_token = [header, body, signature].join('.');
  return `${chunks[0]!.name.replace(/\.\d+$/, '')}=base64-${Buffer.from(JSON.stringify(session)).toString('base64url')}`;
}

/** The balance in the header, once it has loaded. */
async function balanceOf(page: Page): Promise<number> {
  const balance = page.getByText(/^Credits: /);
  await expect(balance).toHaveText(/Credits: \d+/);
  return Number((await balance.textContent())!.replace(/\D+/g, ''));
}

/** Fills the form and submits; resolves with the new job's id once its page is shown. */
async function createJobInUi(page: Page, prompt: string, aspectRatio = '1:1'): Promise<string> {
  if (!new URL(page.url()).pathname.endsWith('/jobs')) await page.goto('/jobs');
  await page.getByLabel('Prompt').fill(prompt);
  await page.getByLabel('Model').selectOption(FLASH);
  await page.getByLabel('Size').selectOption(aspectRatio);
  await expect(page.getByText(/^Cost: /)).toHaveText('Cost: 1 credit');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page).toHaveURL(JOB_URL);
  await expect(page.getByRole('heading', { name: 'Job', exact: true })).toBeVisible();
  return JOB_URL.exec(page.url())![1]!;
}


async function jobStatus(db: pg.Pool, id: string): Promise<string> {
  return (await db.query('select status from public.jobs where id = $1', [id])).rows[0].status;
}

/**
 * Records the page's Realtime traffic: frames sent (joins) and received. The app must follow its
 * jobs on the user's private Broadcast topic and join nothing with postgres_changes.
 */
function recordRealtime(page: Page): { sent: string[]; received: string[] } {
  const frames = { sent: [] as string[], received: [] as string[] };
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/realtime/v1/')) return;
    ws.on('framesent', (frame) => frames.sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => frames.received.push(String(frame.payload)));
  });
  return frames;
}

/** The postgres_changes bindings of every channel join the page sent: none is what the app wants. */
function postgresChangesBindings(sent: string[]): unknown[] {
  return sent.flatMap((frame) => {
    try {
      const [, , , event, payload] = JSON.parse(frame) as [unknown, unknown, string, string, { config?: { postgres_changes?: unknown[] } }];
      return event === 'phx_join' ? (payload.config?.postgres_changes ?? []) : [];
    } catch {
      return [];
    }
  });
}

test('a user creates a job and watches progress move and the image appear without a reload', async ({ alicePage: page, tag, saveScreenshot }) => {
  const realtime = recordRealtime(page);
  await page.reload();
  const balance = await balanceOf(page);
  const prompt = `${tag}-live: a lighthouse at dusk`;
  const jobId = await createJobInUi(page, prompt);
  await markPage(page);

  const stage = page.getByLabel('Stage', { exact: true });
  const progress = page.getByRole('progressbar');
  await expect(stage).toHaveText('Generating');
  // Between the ends: the bar moves while the call runs, not only at its start and finish.
  await expect(progress).toHaveAttribute('aria-valuenow', /^[1-9]\d?$/);
  await saveScreenshot(page, 'job-running');

  const image = page.getByRole('img', { name: `Generated image: ${prompt}` });
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the image has loaded' }).toBeGreaterThan(0);
  await expect(stage).toHaveText('Done');
  await expect(progress).toHaveAttribute('aria-valuenow', '100');
  expect(await stillMarked(page), 'the page was never reloaded').toBe(true);
  await expect(page).toHaveURL(`/jobs/${jobId}`);
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance - 1}`);
  await saveScreenshot(page, 'job-page');
  // All of it arrived over the user's private topic; no channel asked for postgres_changes.
  expect(realtime.received.some((f) => f.includes(`user:${DEMO_USERS.alice.id}:jobs`) && f.includes(jobId))).toBe(true);
  expect(postgresChangesBindings(realtime.sent)).toEqual([]);
});

test('the gallery shows a finished job\'s thumbnail without a reload, and a running one with its progress', async ({ alicePage: page, tag, stack, saveScreenshot }) => {
  const prompt = `${tag}-gallery: a paper boat on a pond`;
  // Every script the browser loads, to check below that none carries the server's secret key.
  const scripts: Promise<string>[] = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') scripts.push(response.text().catch(() => ''));
  });
  // 16:9: the stand-in's image is 1344x768, so its thumbnail (256x146) is told apart by its size.
  const jobId = await createJobInUi(page, prompt, '16:9');
  await page.getByRole('link', { name: '← All jobs' }).click();
  await expect(page).toHaveURL('/jobs');
  await markPage(page);
  const history = page.getByRole('list', { name: 'Job history' });
  const card = history.getByRole('listitem').filter({ has: page.locator(`a[href="/jobs/${jobId}"]`) });
  // The newest job is the first card, running with its bar, then done with its thumbnail.
  await expect(history.getByRole('listitem').first()).toContainText(prompt);
  await expect(card.getByRole('progressbar')).toBeVisible();
  const thumbnail = card.getByRole('img', { name: `Generated image: ${prompt}` });
  await expect(thumbnail).toBeVisible();
  await expect(thumbnail).toHaveAttribute('loading', 'lazy');
  // Nobody has viewed it yet: the card asks the app, which makes the thumbnail (not the full
  // image scaled down by the browser) and stores it.
  await expect(thumbnail).toHaveAttribute('src', `/jobs/${jobId}/thumbnail`);
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the thumbnail has loaded' }).toBe(256);
  expect(await thumbnail.evaluate((img: HTMLImageElement) => img.naturalHeight)).toBe(146);
  await expect(thumbnail).toHaveAttribute('width', '256');
  await expect(thumbnail).toHaveAttribute('height', '146');
  expect(await stillMarked(page), 'the page was never reloaded').toBe(true);
  await saveScreenshot(page, 'gallery');
  // From now on the gallery signs the stored thumbnail in its page's batch, as any other.
  await page.reload();
  await expect(thumbnail).toHaveAttribute('src', /\.thumb\.jpg\?token=/);
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the stored thumbnail has loaded' }).toBe(256);
  const loaded = await Promise.all(scripts);
  expect(loaded.length).toBeGreaterThan(0);
  expect(loaded.filter((text) => text.includes(stack.secretKey)), 'no script the browser loads holds the secret key').toEqual([]);
  // The job page keeps the full image.
  await card.getByRole('link').click();
  const full = page.getByRole('img', { name: `Generated image: ${prompt}` });
  await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the full image has loaded' }).toBe(1344);
});

test('a thumbnail that cannot be made: the card shows the full image instead', async ({ alicePage: page, tag, stack, playwright, baseURL }) => {
  const prompt = `${tag}-gallery: too large to thumbnail`;
  const jobId = await createJobInUi(page, prompt);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  // The stored image swapped for one larger than any Gemini size (20 MP), which the app will not decode.
  const service = createTestClient(stack, stack.secretKey);
  const { data: job } = await service.from('jobs').select('result').eq('id', jobId).single();
  const path = (job!.result as { path: string }).path;
  const huge = await sharp({ create: { width: 5000, height: 4000, channels: 3, background: '#3366cc' } }).png().toBuffer();
  expect((await service.storage.from('results').upload(path, huge, { upsert: true, contentType: 'image/png' })).error).toBeNull();

  await page.goto('/jobs');
  const card = page.getByRole('list', { name: 'Job history' }).getByRole('listitem').filter({ has: page.locator(`a[href="/jobs/${jobId}"]`) });
  const image = card.getByRole('img', { name: `Generated image: ${prompt}` });
  const refused = await page.request.get(`/jobs/${jobId}/thumbnail`);
  expect(refused.status()).toBe(422);
  expect((await refused.json()).error).toMatch(/larger than 18000000 pixels/);
  // The route answers a verified session only: without one, or with a token altered in the
  // cookie (the role claim raised, the signature kept), it refuses before it reads anything. The
  // same cookie rewritten with its claims untouched is still alice's: the forgery is what fails.
  const answerWith = async (cookie?: string) => {
    const context = await playwright.request.newContext({ baseURL, extraHTTPHeaders: cookie ? { cookie } : {} });
    const status = (await context.get(`/jobs/${jobId}/thumbnail`)).status();
    await context.dispose();
    return status;
  };
  expect(await answerWith()).toBe(401);
  expect(await answerWith(await sessionCookieWithClaims(page, (claims) => claims))).toBe(422);
  expect(await answerWith(await sessionCookieWithClaims(page, (claims) => ({ ...claims, app_metadata: { ...claims.app_metadata, role: 'admin' } })))).toBe(401);
  await expect(image).toHaveAttribute('src', /\.png\?token=/);
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the full image has loaded' }).toBe(5000);
  // The job itself is untouched.
  await expect(card).toContainText('Done');
});

test('a job that finishes while the user is elsewhere raises a notice with a link, and never moves them', async ({ alicePage: page, tag, saveScreenshot }) => {
  const prompt = `${tag}-notice: a kite over the dunes`;
  const jobId = await createJobInUi(page, prompt);
  await page.getByRole('link', { name: '← All jobs' }).click();
  await expect(page).toHaveURL('/jobs');
  await markPage(page);
  const notice = page.getByRole('status', { name: 'Notifications' });
  await expect(notice).toContainText('Your image is ready');
  await expect(notice).toContainText(prompt);
  await expect(notice.getByRole('link', { name: 'View job' })).toHaveAttribute('href', `/jobs/${jobId}`);
  await saveScreenshot(page, 'job-notice');
  // It only told: the user is where they were, on the same page.
  await expect(page).toHaveURL('/jobs');
  expect(await stillMarked(page), 'the page was never reloaded').toBe(true);
  await notice.getByRole('button', { name: 'Dismiss notification' }).click();
  await expect(notice).not.toContainText(prompt);
});

test('a job made to fail shows why, the refund, and the balance back up', async ({ alicePage: page, gemini, tag, saveScreenshot }) => {
  const balance = await balanceOf(page);
  // A safety block is permanent: the worker fails the job at once and refunds it.
  await gemini.force({ outcome: 'blocked', count: 1 });
  await createJobInUi(page, `${tag}-fail: something the filter blocks`);
  await expect(page.getByRole('status').filter({ hasText: 'Why it failed:' })).toContainText('blocked');
  await expect(page.getByRole('status').filter({ hasText: 'refunded' })).toHaveText('1 credit refunded');
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance}`);
  await saveScreenshot(page, 'job-failed-refunded');
});

test('a queued job can be cancelled from its page and its credits come back', async ({ alicePage: page, modelQueues, tag, saveScreenshot }) => {
  const balance = await balanceOf(page);
  await modelQueues.pause(FLASH);
  await createJobInUi(page, `${tag}-cancel: never mind`);
  const stage = page.getByLabel('Stage', { exact: true });
  await expect(stage).toHaveText('Waiting for a worker');
  await page.getByRole('button', { name: 'Cancel job' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'refunded' })).toHaveText('1 credit refunded');
  await expect(stage).toHaveText('Cancelled');
  await expect(page.getByRole('button', { name: 'Cancel job' })).toHaveCount(0);
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance}`);
  await saveScreenshot(page, 'job-cancelled');
});

test('switching between two running jobs never pulls the user back', async ({ alicePage: page, db, tag, saveScreenshot }) => {
  const first = await createJobInUi(page, `${tag}-switch: first`);
  const second = await createJobInUi(page, `${tag}-switch: second`);
  // Back to the first through the list, while both are still in flight.
  await page.getByRole('link', { name: '← All jobs' }).click();
  await expect(page).toHaveURL('/jobs');
  await page.getByRole('link', { name: `${tag}-switch: first` }).click();
  await expect(page).toHaveURL(`/jobs/${first}`);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  // The second job finishing too must not move the user.
  await expect.poll(() => jobStatus(db, second), { message: 'the second job finishes' }).toBe('succeeded');
  await expect(page).toHaveURL(`/jobs/${first}`);
  // Coming back to the second shows its current state, not the one it had when the user left.
  await page.goBack();
  await page.goBack();
  await expect(page).toHaveURL(`/jobs/${second}`);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  await saveScreenshot(page, 'job-switch');
});

test("alice gets a 404 for bob's job page and receives none of its events", async ({ alicePage: page, clientAs, db, tag, saveScreenshot }) => {
  const frames: string[] = [];
  // Realtime sockets only: the dev server's own socket echoes page URLs, which name the job.
  page.on('websocket', (ws) => {
    if (ws.url().includes('/realtime/v1/')) ws.on('framereceived', (frame) => frames.push(String(frame.payload)));
  });
  // Alice watches her history (a live subscription to her jobs) while bob's job runs; it may be
  // empty when this journey runs alone.
  const history = page.getByRole('list', { name: 'Job history' }).or(page.getByText('No jobs yet.'));
  await page.reload();
  await expect(history).toBeVisible();

  const bob = await clientAs('bob');
  const bobsPrompt = `${tag}-private: bob only`;
  const { data, error } = await bob.rpc('create_job', { p_model_id: FLASH, p_prompt: bobsPrompt });
  expect(error).toBeNull();
  const bobsJobId = (data as { id: string }).id;

  const response = await page.goto(`/jobs/${bobsJobId}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Job not found' })).toBeVisible();
  await saveScreenshot(page, 'other-users-job-404');

  // Back on her history while bob's job finishes: nothing about it may reach her socket.
  await page.goto('/jobs');
  await expect(history).toBeVisible();
  await expect.poll(() => jobStatus(db, bobsJobId), { message: "bob's job finishes" }).toBe('succeeded');
  // Her own job's events do arrive on the same socket, so silence about bob's is meaningful.
  const control = await createJobInUi(page, `${tag}-private: alice control`);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  expect(frames.some((f) => f.includes(control)), "alice's own job events arrived").toBe(true);
  expect(frames.filter((f) => f.includes(bobsJobId)), "frames about bob's job that reached alice").toEqual([]);
  expect(frames.filter((f) => f.includes(bobsPrompt)), "frames with bob's prompt that reached alice").toEqual([]);
});

test('a waiting job shows its place in the queue, moving live as other jobs leave it, then the time left', async ({ alicePage: page, clientAs, gemini, modelQueues, tag, saveScreenshot }) => {
  // A paused model takes jobs but no worker claims them: bob's job waits ahead of alice's.
  await modelQueues.pause(FLASH);
  const bob = await clientAs('bob');
  const { data: ahead, error } = await bob.rpc('create_job', { p_model_id: FLASH, p_prompt: `${tag}-queue: ahead` });
  expect(error).toBeNull();
  await createJobInUi(page, `${tag}-queue: waiting`);
  const position = page.getByLabel('Queue position', { exact: true });
  const eta = page.getByLabel(/^Estimated time/);
  await expect(position).toHaveText('2');
  await expect(eta).toContainText('This model is paused');
  await saveScreenshot(page, 'job-queued-position');

  // Bob's job leaving the queue moves alice's place without a reload: the queue signal.
  await markPage(page);
  const { error: cancelError } = await bob.rpc('cancel_jobs', { ids: [(ahead as { id: string }).id], reason: `${tag} queue` });
  expect(cancelError).toBeNull();
  await expect(position).toHaveText('1');

  // Resumed, the job is claimed and shows the time left from the model's live latency. The call
  // takes two seconds, as a real one does, so the running state is on screen long enough to see.
  await gemini.reset({ p50: 2000, p99: 2000 });
  await modelQueues.resume(FLASH);
  await expect(page.getByText('Estimated time left')).toBeVisible();
  await expect(eta).toHaveText(/about \d+ s|Any moment now/);
  await saveScreenshot(page, 'job-running-eta');
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  expect(await stillMarked(page), 'the page was never reloaded').toBe(true);
});

/** The job's stored result, as the database holds it. */
async function storedResult(db: pg.Pool, id: string): Promise<{ bucket: string; path: string; mimeType: string }> {
  return (await db.query('select result from public.jobs where id = $1', [id])).rows[0].result;
}

const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg' };

test('alice downloads an image, from its page and from its card: the stored bytes, named with the extension of their type; once expired, the card and page say so', async ({ alicePage: page, clientAs, db, tag }) => {
  const prompt = `${tag}-download: a red bicycle`;
  const jobId = await createJobInUi(page, prompt);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  const result = await storedResult(db, jobId);
  const alice = await clientAs('alice');
  const { data: stored, error } = await alice.storage.from(result.bucket).download(result.path);
  expect(error).toBeNull();
  const storedBytes = Buffer.from(await stored!.arrayBuffer());
  const extension = EXTENSION[result.mimeType]!;
  expect(result.path.endsWith(`.${extension}`), 'the stored name carries the real extension').toBe(true);
  const expectedName = new RegExp(`^e2e-[a-z0-9-]+-download-a-red-bicycle-\\d{4}-\\d{2}-\\d{2}\\.${extension}$`);

  const fromPage = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download' }).click();
  const saved = await fromPage;
  expect(saved.suggestedFilename()).toMatch(expectedName);
  expect(await readFile((await saved.path())!)).toEqual(storedBytes);
  await expect(page).toHaveURL(`/jobs/${jobId}`);

  await page.getByRole('link', { name: '← All jobs' }).click();
  const card = page.getByRole('list', { name: 'Job history' }).getByRole('listitem').filter({ has: page.locator(`a[href="/jobs/${jobId}"]`) });
  const fromCard = page.waitForEvent('download');
  await card.getByRole('button', { name: 'Download' }).click();
  const savedFromCard = await fromCard;
  expect(savedFromCard.suggestedFilename()).toMatch(expectedName);
  expect(await readFile((await savedFromCard.path())!)).toEqual(storedBytes);
  await expect(page).toHaveURL('/jobs');

  // Weeks later, with the result images' window on: the pass expires the image and the worker
  // erases it through Storage. The card and the page say so; Download goes, Generate again stays.
  const signedUrl = (await alice.storage.from(result.bucket).createSignedUrl(result.path, 600)).data!.signedUrl;
  await db.query(`update public.retention_policies set keep_days = 7 where kind = 'result_images'`);
  try {
    await moveJobsBack(db, [jobId], 8);
    await db.query('select public.prune_expired_data()');
  } finally {
    await db.query(`update public.retention_policies set keep_days = null where kind = 'result_images'`);
  }
  await expect.poll(async () => (await page.request.get(signedUrl)).status(), { message: 'the image is erased from Storage' }).not.toBe(200);
  await page.reload();
  await expect(card).toContainText('Image expired on');
  await expect(card.getByRole('img')).toHaveCount(0);
  await expect(card.getByRole('button', { name: 'Download' })).toHaveCount(0);
  await card.getByRole('link').click();
  await expect(page).toHaveURL(`/jobs/${jobId}`);
  await expect(page.getByRole('status').filter({ hasText: 'Image expired on' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Download' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Generate again' })).toBeEnabled();
});

test('alice deletes a finished job: its card leaves a second open tab without a reload, its image stops serving, the ledger is unchanged', async ({ alicePage: page, pageAs, db, tag, saveScreenshot }) => {
  const prompt = `${tag}-delete: a snowman on a roof`;
  const jobId = await createJobInUi(page, prompt);
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');
  const image = page.getByRole('img', { name: `Generated image: ${prompt}` });
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the image has loaded' }).toBeGreaterThan(0);
  const imageUrl = (await image.getAttribute('src'))!;
  const ledger = async () => (await db.query('select id, reason, delta, charge_seq from public.credit_ledger where job_id = $1 order by id', [jobId])).rows;
  const ledgerBefore = await ledger();
  const balance = await balanceOf(page);

  // The second tab: the gallery, with the job's card and its thumbnail.
  const other = await pageAs('alice');
  await other.goto('/jobs');
  const card = other.getByRole('list', { name: 'Job history' }).getByRole('listitem').filter({ has: other.locator(`a[href="/jobs/${jobId}"]`) });
  const thumbnail = card.getByRole('img', { name: `Generated image: ${prompt}` });
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth), { message: 'the thumbnail has loaded' }).toBeGreaterThan(0);
  const thumbnailUrl = (await thumbnail.getAttribute('src'))!;
  await markPage(other);

  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this job?' });
  await expect(dialog).toContainText(prompt);
  await saveScreenshot(page, 'job-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete job' }).click();
  await expect(page.getByRole('heading', { name: 'Job deleted' })).toBeVisible();
  await expect(page.getByText(prompt)).toHaveCount(0);

  await expect(card).toHaveCount(0);
  expect(await stillMarked(other), 'the second tab was never reloaded').toBe(true);
  // The image and its thumbnail are erased from Storage: their signed URLs no longer serve.
  await expect.poll(async () => (await page.request.get(imageUrl)).status(), { message: 'the image URL stops serving' }).not.toBe(200);
  await expect.poll(async () => (await page.request.get(thumbnailUrl)).status(), { message: 'the thumbnail URL stops serving' }).not.toBe(200);
  expect(await ledger(), 'the ledger is unchanged').toEqual(ledgerBefore);
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance}`);
  const row = (await db.query('select status, prompt, result, content_deleted_at from public.jobs where id = $1', [jobId])).rows[0];
  expect([row.status, row.prompt, row.result]).toEqual(['succeeded', '', null]);
  expect(row.content_deleted_at).not.toBeNull();

  // Staff see on the job's page that its owner deleted it, and when; no action is offered.
  const admin = await pageAs('admin');
  await admin.goto(`/admin/jobs/${jobId}`);
  await expect(admin.getByRole('status').filter({ hasText: "Its owner deleted this job's content on" })).toBeVisible();
  await expect(admin.getByRole('button', { name: 'Retry' })).toBeDisabled();
});

test('generating again from a failed job makes a new job with the same prompt, charged once', async ({ alicePage: page, gemini, db, tag }) => {
  await gemini.force({ outcome: 'blocked', count: 1 });
  const prompt = `${tag}-again: a castle in the fog`;
  const failedId = await createJobInUi(page, prompt);
  await expect(page.getByRole('status').filter({ hasText: 'refunded' })).toHaveText('1 credit refunded');
  const balance = await balanceOf(page);
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance}`);

  await page.getByRole('button', { name: 'Generate again' }).click();
  await expect(page).not.toHaveURL(`/jobs/${failedId}`);
  await expect(page).toHaveURL(JOB_URL);
  const newId = JOB_URL.exec(page.url())![1]!;
  await expect(page.getByText(prompt)).toBeVisible();
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance - 1}`);
  // It runs like any job (a 12 s call here, then storing, slower on a busy machine), and ends charged once.
  await expect.poll(() => jobStatus(db, newId), { message: 'the new job finishes', timeout: 120_000 }).toBe('succeeded');
  await expect(page.getByLabel('Stage', { exact: true })).toHaveText('Done');

  const jobs = (await db.query('select id, model_id, prompt, options from public.jobs where id = any($1) order by created_at', [[failedId, newId]])).rows;
  expect(jobs.map((j) => j.id)).toEqual([failedId, newId]);
  expect([jobs[1].model_id, jobs[1].prompt, jobs[1].options]).toEqual([jobs[0].model_id, jobs[0].prompt, jobs[0].options]);
  const charges = (await db.query('select reason, delta::int from public.credit_ledger where job_id = $1', [newId])).rows;
  expect(charges, 'one charge, none refunded').toEqual([{ reason: 'job_charge', delta: -1 }]);
  await expect(page.getByText(/^Credits: /)).toHaveText(`Credits: ${balance - 1}`);
});

// Last in the file: signing out ends all of bob's sessions, and no later journey signs in as bob
// through the browser.
test('signing out ends the notices: none is left on the sign-in page, nor after signing in again', async ({ pageAs, baseURL, tag }) => {
  const page = await pageAs('bob');
  const prompt = `${tag}-sign-out: a lantern on a pier`;
  await createJobInUi(page, prompt);
  await page.getByRole('link', { name: '← All jobs' }).click();
  const notice = page.getByRole('status', { name: 'Notifications' });
  await expect(notice).toContainText(prompt);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL('/sign-in');
  await expect(page.getByText(prompt)).toHaveCount(0);

  await signIn(page, baseURL!, 'bob', '/jobs');
  // Back in, the gallery lists the job, but the notice about it did not survive the sign-out.
  await expect(page.getByRole('heading', { name: 'Your jobs' })).toBeVisible();
  await expect(notice).not.toContainText(prompt);
});
