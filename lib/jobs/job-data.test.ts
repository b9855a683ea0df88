import assert from 'node:assert/strict';
import { dehydrate, hydrate } from '@tanstack/react-query';
import { after, before, describe, test } from 'node:test';
import type { DatabaseClient } from '@/lib/supabase/database';
import sharp from 'sharp';
import type { ClaimedJob } from '../../supabase/functions/job-worker/pipeline.ts';
import { createResultStore } from '../../supabase/functions/job-worker/result-store.ts';
import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';
import { drawPromptImage } from '../../supabase/local/gemini/image.ts';
import { createTestClient, signedInClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { FLASH, PRO } from '../../testkit/database/fixtures.ts';
import { fetchBalance } from '../credits/balance-query.ts';
import { creditKeys } from '../credits/keys.ts';
import { fetchJobRefund } from '../credits/job-refund-query.ts';
import { fetchModels } from '../models/models-query.ts';
import { makeQueryClient } from '../query/make-query-client.ts';
import { cancelJob } from './cancel-job-mutation.ts';
import { createJob, JobActionError } from './create-job-mutation.ts';
import { deleteJob } from './delete-job-mutation.ts';
import { generateAgain } from './generate-again-mutation.ts';
import { createDownloadUrl } from './image-download.ts';
import { fetchJob, jobQueryOptions } from './job-query.ts';
import { primeServerRead } from './job-cache-merge.ts';
import type { Job } from './job-schema.ts';
import { parseUserJobChange, userTopic, type UserJobChange } from './user-job-change.ts';
import { applyUserJobChanges } from './apply-user-job-changes.ts';
import { fetchGalleryPage, galleryQueryOptions, GALLERY_PAGE_SIZE, type GalleryData, type GalleryCursor } from './gallery-query.ts';
import { galleryImage } from './gallery-image.ts';
import { jobThumbnail, storageThumbnailStore } from './job-thumbnail.ts';
import { jobKeys } from './keys.ts';

/**
 * The end-user data layer against the real gateway and Postgres, signed in as demo users:
 * what the pages read and the errors the form shows come from here.
 */
let stack: TestStack;
const clients: DatabaseClient[] = [];

async function signIn(user: keyof typeof DEMO_USERS): Promise<DatabaseClient> {
  const { client } = await signedInClient(stack, user);
  clients.push(client);
  return client;
}

async function expectJobError(promise: Promise<unknown>, kind: string): Promise<string> {
  const error = await promise.then(
    () => assert.fail(`expected a ${kind} error`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof JobActionError, String(error));
  assert.equal(error.view.kind, kind, error.message);
  return error.message;
}

const input = (over: Partial<Parameters<typeof createJob>[1]> = {}) => ({
  modelId: FLASH,
  prompt: 'jobdata: a lighthouse at dusk',
  aspectRatio: '1:1' as const,
  numberOfImages: 1,
  ...over,
});

/**
 * Puts a job running under a lease as a claim leaves it (other tests' jobs are queued ahead of
 * it, so a real claim would take those), then completes it through complete_job as the worker.
 */
async function completeAsWorker(jobId: string, result: JobResult): Promise<void> {
  const { rows } = await stack.db.query(
    `update public.jobs set status = 'running', attempt = 1, lease_token = extensions.gen_random_uuid(),
            lease_expires_at = now() + interval '1 minute' where id = $1 returning lease_token`,
    [jobId],
  );
  const service = createTestClient(stack, stack.secretKey);
  const { error } = await service.rpc('complete_job', { p_job_id: jobId, p_lease_token: rows[0].lease_token, p_result: result });
  assert.equal(error, null);
}

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  for (const client of clients) await client.removeAllChannels();
  await stack.stop();
});

describe('reading', () => {
  test('the models list carries prices and enabled flags for the form', async () => {
    const models = await fetchModels(await signIn('alice'));
    assert.deepEqual(
      models.map((m) => [m.id, m.credits_per_job, m.enabled]),
      [
        [FLASH, 1, true],
        [PRO, 4, true],
      ],
    );
  });

  test("another user's job, or a malformed id, reads as not found", async () => {
    const bob = await signIn('bob');
    const bobsJob = await createJob(bob, input({ prompt: 'jobdata: bob only' }));
    const alice = await signIn('alice');
    assert.equal(await fetchJob(alice, bobsJob.id), null);
    assert.equal(await fetchJob(alice, 'not-a-uuid'), null);
    assert.equal((await fetchJob(bob, bobsJob.id))?.prompt, 'jobdata: bob only');
    const history = (await fetchGalleryPage(alice, DEMO_USERS.alice.id, null)).items;
    assert.ok(history.every((job) => job.user_id === DEMO_USERS.alice.id));
  });
});

describe('creating and cancelling', () => {
  test('a job is charged its cost, listed newest first, and a cancel refunds it', async () => {
    const alice = await signIn('alice');
    const before = await fetchBalance(alice, DEMO_USERS.alice.id);
    const job = await createJob(alice, input({ modelId: PRO, numberOfImages: 2 }));
    assert.equal(job.status, 'queued');
    assert.equal(job.credits_cost, 8);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before - 8);
    assert.equal((await fetchGalleryPage(alice, DEMO_USERS.alice.id, null)).items[0]?.id, job.id);

    assert.deepEqual(await cancelJob(alice, job.id), { outcome: 'done', message: null });
    assert.equal((await fetchJob(alice, job.id))?.status, 'cancelled');
    assert.equal(await fetchJobRefund(alice, job.id), 8);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before);
    // A second cancel changes nothing and refunds nothing more.
    assert.equal((await cancelJob(alice, job.id)).outcome, 'skipped');
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), before);
  });

  test('invalid prompts and a disabled model come back as their own errors', async () => {
    const alice = await signIn('alice');
    assert.match(await expectJobError(createJob(alice, input({ prompt: '   ' })), 'invalid'), /Prompt is required/);
    assert.match(await expectJobError(createJob(alice, input({ prompt: 'x'.repeat(4001) })), 'invalid'), /too long/);
    await stack.db.query('update public.models set enabled = false where id = $1', [PRO]);
    try {
      await expectJobError(createJob(alice, input({ modelId: PRO })), 'disabled_model');
    } finally {
      await stack.db.query('update public.models set enabled = true where id = $1', [PRO]);
    }
  });

  test('running out of credits is a credits error with the numbers', async () => {
    const alice = await signIn('alice');
    const balance = await fetchBalance(alice, DEMO_USERS.alice.id);
    // 16 credits a job (4 credits x 4 images) until less than 16 is left.
    for (let left = balance; left >= 16; left -= 16) await createJob(alice, input({ modelId: PRO, numberOfImages: 4 }));
    const message = await expectJobError(createJob(alice, input({ modelId: PRO, numberOfImages: 4 })), 'credits');
    assert.match(message, /costs 16 credits and your balance is \d+/);
  });

  test('the queued-jobs limit is the rate-limit error', async () => {
    const bob = await signIn('bob');
    const { rows } = await stack.db.query(`select count(*)::integer as n from public.jobs where user_id = $1 and status = 'queued'`, [DEMO_USERS.bob.id]);
    const queued: number = rows[0].n;
    for (let i = queued; i < 20; i++) await createJob(bob, input({ prompt: `jobdata: bob ${i}` }));
    await expectJobError(createJob(bob, input()), 'rate_limit');
  });
});

describe('the gallery', () => {
  test('pages by (created_at, id) newest first: no job twice, none skipped, ties included', async () => {
    const bob = await signIn('bob');
    // Forty jobs, ten of them sharing one created_at, so the keyset's id tie-break is exercised.
    await stack.db.query(
      `insert into public.jobs (user_id, model_id, prompt, max_attempts, credits_cost, deadline_at, created_at)
       select $1, $2, 'gallery ' || g, 3, 1, now() + interval '1 hour',
              case when g <= 10 then timestamptz '2026-01-01 12:00' else timestamptz '2026-01-01 12:00' + g * interval '1 second' end
         from generate_series(1, 40) g`,
      [DEMO_USERS.bob.id, FLASH],
    );
    const { rows: expected } = await stack.db.query(`select id from public.jobs where user_id = $1 order by created_at desc, id desc`, [DEMO_USERS.bob.id]);
    const seen: string[] = [];
    let cursor: GalleryCursor | null = null;
    do {
      const page = await fetchGalleryPage(bob, DEMO_USERS.bob.id, cursor);
      assert.ok(page.items.length <= GALLERY_PAGE_SIZE);
      seen.push(...page.items.map((j) => j.id));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(seen, expected.map((r) => r.id));
  });

  test('a page carries the refund of each failed job and its thumbnails signed in one batch; a thumbnail not made yet is the route that makes it', async () => {
    const alice = await signIn('alice');
    const failed = await createJob(alice, input({ prompt: 'jobdata: gallery failed' }));
    await cancelJob(alice, failed.id);
    const service = createTestClient(stack, stack.secretKey);
    // Stored by the worker's own result store: a 1344x768 image, no thumbnail.
    const finish = async (prompt: string) => {
      const job = await createJob(alice, input({ prompt }));
      const png = drawPromptImage(prompt, 1344, 768);
      await completeAsWorker(job.id, await createResultStore(service, 'results').storeImages({ id: job.id, user_id: DEMO_USERS.alice.id } as ClaimedJob, [{ data: new Uint8Array(png), mimeType: 'image/png' }]));
      return { job, png };
    };
    const viewed = await finish('jobdata: gallery viewed');
    const unseen = await finish('jobdata: gallery not viewed yet');
    // The first view of one of them, through the route's own logic, stores its thumbnail.
    const made = await jobThumbnail(alice, storageThumbnailStore(() => service), viewed.job.id);
    assert.equal(made.status, 200);

    const page = await fetchGalleryPage(alice, DEMO_USERS.alice.id, null);
    const failedCard = page.items.find((j) => j.id === failed.id)!;
    assert.equal(failedCard.refunded, failed.credits_cost);
    assert.equal(failedCard.thumbnailUrl, null);
    const viewedCard = page.items.find((j) => j.id === viewed.job.id)!;
    assert.equal(viewedCard.status, 'succeeded');
    assert.match(viewedCard.thumbnailUrl ?? '', /\/storage\/v1\/object\/sign\/results\//, 'the stored thumbnail, signed');
    const thumbnail = await fetch(viewedCard.thumbnailUrl!);
    assert.equal(thumbnail.status, 200);
    assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
    const bytes = Buffer.from(await thumbnail.arrayBuffer());
    assert.ok(bytes.length < viewed.png.length / 10, `the thumbnail is ${bytes.length} bytes, the image ${viewed.png.length}`);
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 146]);
    assert.deepEqual(galleryImage({ ...viewedCard, result: viewedCard.result! }), { bucket: 'results', path: `${DEMO_USERS.alice.id}/${viewed.job.id}.thumb.jpg`, width: 256, height: 146 });
    // Storage signed the rest of the batch and answered no URL for the thumbnail nobody made yet.
    const unseenCard = page.items.find((j) => j.id === unseen.job.id)!;
    assert.equal(unseenCard.thumbnailUrl, `/jobs/${unseen.job.id}/thumbnail`);
  });
});

describe('live updates', () => {
  test("the user's topic patches the cached job and gallery without a fetch; a new job is put at the top; credits follow", async () => {
    const alice = await signIn('alice');
    await stack.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note) values ($1, 10, 'grant', 'database', 'test')`,
      [DEMO_USERS.alice.id],
    );
    const job = await createJob(alice, input({ prompt: 'jobdata: live' }));
    const queryClient = makeQueryClient();
    queryClient.setQueryData(jobKeys.detail(job.id), job);
    const gallery: GalleryData = { pages: [{ items: [{ ...job, refunded: 0, thumbnailUrl: null }], next: null }], pageParams: [null] };
    queryClient.setQueryData(jobKeys.list(DEMO_USERS.alice.id), gallery);
    queryClient.setQueryData(creditKeys.balance(DEMO_USERS.alice.id), 0);

    const seen: Job[] = [];
    const unsubscribeCache = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'success' && event.query.queryKey[1] === 'detail' && event.query.queryKey.length === 3) {
        seen.push(event.query.state.data as Job);
      }
    });
    const fetched: string[] = [];
    const received: UserJobChange[] = [];
    await alice.realtime.setAuth();
    let channel!: ReturnType<typeof alice.channel>;
    await new Promise<void>((resolve, reject) => {
      channel = alice
        .channel(userTopic(DEMO_USERS.alice.id), { config: { private: true } })
        .on('broadcast', { event: 'job_changed' }, (message) => {
          const change = parseUserJobChange(message.payload);
          if (!change) return;
          received.push(change);
          applyUserJobChanges(queryClient, DEMO_USERS.alice.id, [change], async (id) => {
            fetched.push(id);
            return fetchJob(alice, id);
          });
        })
        .subscribe((status, err) => (status === 'SUBSCRIBED' ? resolve() : err && reject(err)));
    });

    // Progress moves without a state change (what a heartbeat does), then the owner cancels.
    await stack.db.query(`update public.jobs set progress = 40, stage = 'generating', updated_at = now() where id = $1`, [job.id]);
    await cancelJob(alice, job.id);
    const deadline = Date.now() + 10_000;
    while (queryClient.getQueryData<Job>(jobKeys.detail(job.id))?.status !== 'cancelled') {
      assert.ok(Date.now() < deadline, 'the cancel message did not reach the cache');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(seen.some((j) => j.progress === 40 && j.stage === 'generating'), 'the progress message was applied');
    const card = () => queryClient.getQueryData<GalleryData>(jobKeys.list(DEMO_USERS.alice.id))!.pages[0]!.items;
    assert.deepEqual([card()[0]!.status, card()[0]!.refunded], ['cancelled', job.credits_cost]);
    assert.equal(queryClient.getQueryData(creditKeys.jobRefund(job.id)), job.credits_cost);
    assert.equal(queryClient.getQueryState(creditKeys.balance(DEMO_USERS.alice.id))?.isInvalidated, true, 'the refund moved the balance');
    assert.deepEqual(fetched, [], 'a job already in the gallery is patched, not fetched');

    // A job made elsewhere (another tab) arrives at the top of the gallery, fetched once.
    const other = await createJob(alice, input({ prompt: 'jobdata: from another tab' }));
    while (card()[0]!.id !== other.id) {
      assert.ok(Date.now() < deadline + 10_000, 'the new job did not reach the gallery');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(fetched, [other.id]);
    assert.deepEqual(card().map((j) => j.id), [other.id, job.id]);

    // Deleted from another tab: its card leaves this one's gallery, and its page refetches.
    await deleteJob(alice, job.id);
    while (card().some((j) => j.id === job.id)) {
      assert.ok(Date.now() < deadline + 20_000, 'the deletion did not reach the gallery');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(card().map((j) => j.id), [other.id]);
    assert.equal(queryClient.getQueryState(jobKeys.detail(job.id))?.isInvalidated, true, 'the job page refetches the blanked row');
    unsubscribeCache();
    await alice.removeChannel(channel);
    assert.ok(received.every((c) => !('user_id' in c)));
  });
});

describe('crossing a live change', () => {
  /**
   * Under load a read and a live change cross: the read sees the row before the change, the
   * change's message is applied, then the read's answer lands. Each path that writes a cached job
   * (a refetch of the job or of the gallery, a server render hydrated in the browser) must leave
   * the newer row, by the same rule the messages follow.
   */
  test('a refetch or a server render that read the job before a change lands after it and leaves the change in place', async () => {
    const alice = await signIn('alice');
    const userId = DEMO_USERS.alice.id;
    await stack.db.query(
      `insert into public.credit_ledger (user_id, delta, reason, actor_role, note) values ($1, 10, 'grant', 'database', 'test')`,
      [userId],
    );
    const job = await createJob(alice, input({ prompt: 'jobdata: crossing' }));
    // Running and storing its image, as the worker leaves the job just before it completes.
    const { rows } = await stack.db.query(
      `update public.jobs set status = 'running', attempt = 1, lease_token = extensions.gen_random_uuid(),
              lease_expires_at = now() + interval '1 minute', stage = 'storing', progress = 90, updated_at = now()
        where id = $1 returning lease_token`,
      [job.id],
    );
    const queryClient = makeQueryClient();
    await queryClient.fetchQuery(jobQueryOptions(alice, job.id));
    await queryClient.fetchInfiniteQuery(galleryQueryOptions(alice, userId));

    // Refetches whose reads are done (they saw "storing") but whose answers are held back.
    let release!: () => void;
    const answers = new Promise<void>((resolve) => (release = resolve));
    const reads: Promise<unknown>[] = [];
    const held = <T,>(read: Promise<T>): Promise<T> => {
      reads.push(read);
      return read.then(async (value) => (await answers, value));
    };
    const serverReadAt = Date.now();
    const serverRead = { job: await fetchJob(alice, job.id), readAt: serverReadAt };
    const jobRefetch = queryClient.fetchQuery({ ...jobQueryOptions(alice, job.id), staleTime: 0, queryFn: () => held(fetchJob(alice, job.id)) });
    const galleryRefetch = queryClient.fetchInfiniteQuery({
      ...galleryQueryOptions(alice, userId),
      staleTime: 0,
      queryFn: ({ pageParam }) => held(fetchGalleryPage(alice, userId, pageParam)),
    });
    while (reads.length < 2) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(reads);
    assert.equal(serverRead.job?.stage, 'storing');

    // The job succeeds; its message (as the trigger wrote it to the topic) is applied.
    const service = createTestClient(stack, stack.secretKey);
    const image = { data: new Uint8Array(drawPromptImage('jobdata: crossing', 64, 64)), mimeType: 'image/png' };
    const result = await createResultStore(service, 'results').storeImages({ id: job.id, user_id: userId } as ClaimedJob, [image]);
    const { error } = await service.rpc('complete_job', { p_job_id: job.id, p_lease_token: rows[0].lease_token, p_result: result });
    assert.equal(error, null);
    const message = await stack.db.query(
      `select payload from realtime.messages where topic = $1 and payload->>'id' = $2 and payload->>'status' = 'succeeded'`,
      [userTopic(userId), job.id],
    );
    const change = parseUserJobChange(message.rows[0]?.payload);
    assert.ok(change, 'the succeeded message is on the topic');
    applyUserJobChanges(queryClient, userId, [change], (id) => fetchJob(alice, id));
    const cachedJob = () => queryClient.getQueryData<Job>(jobKeys.detail(job.id));
    const card = () => queryClient.getQueryData<GalleryData>(jobKeys.list(userId))!.pages[0]!.items.find((item) => item.id === job.id);
    assert.equal(cachedJob()?.status, 'succeeded');
    assert.equal(card()?.status, 'succeeded');

    // The older answers land; the job page and the card stay done.
    release();
    await Promise.all([jobRefetch, galleryRefetch]);
    assert.deepEqual([cachedJob()?.status, cachedJob()?.stage], ['succeeded', change.stage]);
    assert.deepEqual([card()?.status, card()?.progress], ['succeeded', change.progress]);

    // The server render that read "storing" before the change is hydrated after it: refused too.
    const server = makeQueryClient();
    primeServerRead(server, jobKeys.detail(job.id), serverRead);
    hydrate(queryClient, dehydrate(server));
    assert.equal(cachedJob()?.status, 'succeeded');

    // A newer row still replaces the cached one, from either path.
    const fresh = await queryClient.fetchQuery({ ...jobQueryOptions(alice, job.id), staleTime: 0 });
    assert.equal(fresh?.finished_at !== null, true, 'the refetch after the change brings what the message leaves out');
  });
});

describe('owning images', () => {
  /** A finished job of alice's, its image stored by the worker's result store. */
  async function finishedJob(alice: DatabaseClient, prompt: string, image: { data: Uint8Array; mimeType: string }) {
    const service = createTestClient(stack, stack.secretKey);
    const job = await createJob(alice, input({ prompt }));
    await completeAsWorker(job.id, await createResultStore(service, 'results').storeImages({ id: job.id, user_id: DEMO_USERS.alice.id } as ClaimedJob, [image]));
    return (await fetchJob(alice, job.id))!;
  }

  test('a download URL serves the stored bytes as an attachment named from the prompt and day, with the real extension', async () => {
    const alice = await signIn('alice');
    const jpeg = new Uint8Array(await sharp({ create: { width: 40, height: 30, channels: 3, background: '#606060' } }).jpeg({ quality: 85 }).toBuffer());
    for (const [mimeType, data, extension] of [
      ['image/png', new Uint8Array(drawPromptImage('download', 64, 48)), 'png'],
      ['image/jpeg', jpeg, 'jpg'],
    ] as const) {
      const job = await finishedJob(alice, `jobdata: Download me, a ${extension}!`, { data, mimeType });
      const url = await createDownloadUrl(alice, { ...job, result: job.result! });
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mimeType);
      const name = `jobdata-download-me-a-${extension}-${job.finished_at!.slice(0, 10)}.${extension}`;
      assert.equal(response.headers.get('content-disposition'), `attachment; filename=${name}; filename*=UTF-8''${name}`);
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), data);
      assert.match(new URL(url).pathname, /^\/storage\/v1\/object\/sign\/results\//, 'a signed URL, never a public one');
    }
    // Bob cannot sign one for alice's image.
    const bob = await signIn('bob');
    const job = await finishedJob(alice, 'jobdata: not for bob', { data: new Uint8Array(drawPromptImage('x', 32, 32)), mimeType: 'image/png' });
    await assert.rejects(createDownloadUrl(bob, { ...job, result: job.result! }), /not found/i);
  });

  test('a deleted job leaves the gallery and its page shows the blanked row; a running one is refused with the reason', async () => {
    const alice = await signIn('alice');
    const job = await finishedJob(alice, 'jobdata: delete me', { data: new Uint8Array(drawPromptImage('d', 32, 32)), mimeType: 'image/png' });
    // Viewed in the gallery once, so its thumbnail is stored beside the image.
    assert.equal((await jobThumbnail(alice, storageThumbnailStore(() => createTestClient(stack, stack.secretKey)), job.id)).status, 200);
    const balance = await fetchBalance(alice, DEMO_USERS.alice.id);
    const deletion = await deleteJob(alice, job.id);
    assert.equal(deletion.objects_queued, 2, 'the image and its thumbnail');
    const page = await fetchGalleryPage(alice, DEMO_USERS.alice.id, null);
    assert.equal(page.items.some((j) => j.id === job.id), false);
    const row = (await fetchJob(alice, job.id))!;
    assert.deepEqual([row.status, row.prompt, row.result, row.content_deleted_at], ['succeeded', '', null, deletion.content_deleted_at]);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), balance, 'no credits move');

    const queued = await createJob(alice, input({ prompt: 'jobdata: still queued' }));
    assert.equal(await expectJobError(deleteJob(alice, queued.id), 'conflict'), 'This job is queued: cancel it first, then delete it.');
    const bob = await signIn('bob');
    await expectJobError(deleteJob(bob, queued.id), 'not_found');
  });

  test('generating again makes a new job with the same prompt and options, charged once', async () => {
    const alice = await signIn('alice');
    await stack.db.query(`insert into public.credit_ledger (user_id, delta, reason, actor_role, note) values ($1, 20, 'grant', 'database', 'test')`, [DEMO_USERS.alice.id]);
    const old = await createJob(alice, input({ prompt: 'jobdata: again', modelId: PRO, numberOfImages: 2, aspectRatio: '16:9' }));
    await cancelJob(alice, old.id);
    const balance = await fetchBalance(alice, DEMO_USERS.alice.id);
    const job = await generateAgain(alice, old.id);
    assert.notEqual(job.id, old.id);
    assert.deepEqual([job.status, job.model_id, job.prompt, job.options, job.credits_cost], ['queued', PRO, 'jobdata: again', old.options, old.credits_cost]);
    assert.equal(await fetchBalance(alice, DEMO_USERS.alice.id), balance - old.credits_cost);
    assert.match(await expectJobError(generateAgain(alice, job.id), 'conflict'), /^This job is queued/);
  });
});
