import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import sharp from 'sharp';
import type { DatabaseClient } from '@/lib/supabase/database';
import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';
import { drawPromptImage, promptImage } from '../../supabase/local/gemini/image.ts';
import { claim, createJob, query } from '../../testkit/database/fixtures.ts';
import { createTestClient, signedInClient } from '../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { storeResultAsWorker } from '../../testkit/http/stored-result.ts';
import { deleteJob } from './delete-job-mutation.ts';
import { thumbnailPath } from './gallery-image.ts';
import { jobThumbnail, storageThumbnailStore, type ThumbnailStore } from './job-thumbnail.ts';

/**
 * The thumbnail route's logic (app/(end-user)/jobs/[id]/thumbnail/route.ts wires it to the
 * request's session and the secret-key client) against the real gateway, Storage and Postgres,
 * as the demo users: who gets a thumbnail, what it is, and that it is made once. The route itself
 * runs in the gallery journey (e2e/end-user.spec.ts).
 */
let stack: TestStack;
let service: DatabaseClient;
let store: ThumbnailStore;
const users: Record<'alice' | 'bob' | 'support' | 'admin', DatabaseClient> = {} as never;

/** A succeeded job of alice's whose image the worker stored (1344x768 unless given). */
async function succeededJob(image?: Uint8Array): Promise<{ id: string; user_id: string; result: JobResult }> {
  const created = await createJob(stack.db, 'alice');
  const [claimed] = await claim(stack.db);
  assert.equal(claimed?.id, created.id, 'the fixture claims its own job');
  await query(stack.db, 'service', 'select public.complete_job($1, $2)', [claimed.id, claimed.lease_token]);
  const data = image ?? new Uint8Array(drawPromptImage(created.id, 1344, 768));
  const result = await storeResultAsWorker(service, stack.db, created, [{ data, mimeType: 'image/png' }]);
  return { id: created.id, user_id: created.user_id, result };
}

const stored = async (path: string) => (await service.storage.from('results').exists(path)).data;

before(async () => {
  stack = await startTestStack();
  service = createTestClient(stack, stack.secretKey);
  store = storageThumbnailStore(() => service);
  for (const user of ['alice', 'bob', 'support', 'admin'] as const) users[user] = (await signedInClient(stack, user)).client;
});
after(async () => {
  await stack?.stop();
});

describe('who gets a thumbnail', () => {
  let job: { id: string; user_id: string; result: JobResult };
  before(async () => {
    job = await succeededJob();
  });

  test('the owner: a JPEG of at most 256 px with the image\'s aspect ratio, stored beside the image', async () => {
    const answer = await jobThumbnail(users.alice, store, job.id);
    assert.equal(answer.status, 200);
    if (answer.status !== 200) return;
    assert.equal(answer.source, 'made');
    const meta = await sharp(answer.jpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 146], '1344x768 scaled to 256 on its longest side');
    assert.equal(await stored(thumbnailPath(job)), true);
    assert.equal(thumbnailPath(job), `${job.user_id}/${job.id}.thumb.jpg`);
    const { data } = await service.storage.from('results').download(thumbnailPath(job));
    assert.equal(data?.type, 'image/jpeg');
    assert.deepEqual(new Uint8Array(await data!.arrayBuffer()), answer.jpeg, 'what was served is what was stored');
  });

  test('made once: the first view makes and stores it, the next is served from Storage', async () => {
    const fresh = await succeededJob();
    const uploads: string[] = [];
    const counting: ThumbnailStore = { ...store, upload: async (...args) => { uploads.push(args[1]); await store.upload(...args); } };
    const sources = [];
    for (let view = 0; view < 3; view++) {
      const answer = await jobThumbnail(users.alice, counting, fresh.id);
      sources.push(answer.status === 200 ? answer.source : answer.status);
    }
    assert.deepEqual(sources, ['made', 'storage', 'storage']);
    assert.deepEqual(uploads, [thumbnailPath(fresh)], 'stored once');
  });

  test('support and admin read every job, so they get it too', async () => {
    for (const staff of [users.support, users.admin]) {
      const answer = await jobThumbnail(staff, store, job.id);
      assert.equal(answer.status, 200);
    }
  });

  test('another user: 404, the same as a job that does not exist; a malformed id too', async () => {
    assert.deepEqual(await jobThumbnail(users.bob, store, job.id), { status: 404, message: 'No such job.' });
    assert.deepEqual(await jobThumbnail(users.alice, store, crypto.randomUUID()), { status: 404, message: 'No such job.' });
    assert.deepEqual(await jobThumbnail(users.alice, store, 'not-a-uuid'), { status: 404, message: 'No such job.' });
  });

  test('another user cannot have it made either: their view of a job not viewed yet stores nothing', async () => {
    const fresh = await succeededJob();
    assert.equal((await jobThumbnail(users.bob, store, fresh.id)).status, 404);
    assert.equal(await stored(thumbnailPath(fresh)), false);
  });

  // The route passes null when the request has no session whose token verifies
  // (createCallerClient); e2e/end-user.spec.ts sends it one without cookies and one forged.
  test('no verified session: 401, and nothing is stored', async () => {
    const fresh = await succeededJob();
    assert.deepEqual(await jobThumbnail(null, store, fresh.id), { status: 401, message: 'Sign in to see this image.' });
    assert.equal(await stored(thumbnailPath(fresh)), false);
  });
});

describe('jobs without an image to show', () => {
  test('a job still running: 404, and nothing is made', async () => {
    const created = await createJob(stack.db, 'alice');
    const [claimed] = await claim(stack.db);
    assert.equal(claimed?.id, created.id);
    assert.deepEqual(await jobThumbnail(users.alice, store, created.id), { status: 404, message: 'This job has no image.' });
    assert.equal(await stored(thumbnailPath(created)), false);
  });

  test('a deleted job: 410', async () => {
    const job = await succeededJob();
    await deleteJob(users.alice, job.id);
    assert.deepEqual(await jobThumbnail(users.alice, store, job.id), { status: 410, message: 'This job was deleted.' });
    assert.equal(await stored(thumbnailPath(job)), false);
  });

  test('an expired image: 410', async () => {
    const job = await succeededJob();
    // The retention pass's own function, over exactly this job's finish time.
    await stack.db.query(
      `select * from private.expire_result_images((select finished_at from public.jobs where id = $1), (select finished_at from public.jobs where id = $1) + interval '1 microsecond', 10)`,
      [job.id],
    );
    assert.deepEqual(await jobThumbnail(users.alice, store, job.id), { status: 410, message: 'This image has expired.' });
  });

  test('an image erased from Storage while the row still names it: 410, nothing stored', async () => {
    const job = await succeededJob();
    await service.storage.from('results').remove([job.result.path]);
    assert.deepEqual(await jobThumbnail(users.alice, store, job.id), { status: 410, message: 'This image is no longer stored.' });
    assert.equal(await stored(thumbnailPath(job)), false);
  });

  test('a job deleted while its thumbnail was being made: the thumbnail stored after the erasure is removed again', async () => {
    const job = await succeededJob();
    const racing: ThumbnailStore = {
      ...store,
      upload: async (...args) => {
        await deleteJob(users.alice, job.id);
        await store.upload(...args);
      },
    };
    assert.deepEqual(await jobThumbnail(users.alice, racing, job.id), { status: 410, message: 'This job was deleted.' });
    assert.equal(await stored(thumbnailPath(job)), false, 'no thumbnail left behind');
  });
});

describe('what the thumbnail is', () => {
  test('portrait images keep their aspect ratio; small ones are never enlarged', async () => {
    for (const [width, height, expected] of [[768, 1344, [146, 256]], [100, 80, [100, 80]]] as const) {
      const job = await succeededJob(new Uint8Array(drawPromptImage(`size ${width}`, width, height)));
      const answer = await jobThumbnail(users.alice, store, job.id);
      assert.equal(answer.status, 200);
      const meta = await sharp(answer.status === 200 ? answer.jpeg : Buffer.alloc(0)).metadata();
      assert.deepEqual([meta.width, meta.height], expected);
    }
  });

  test('transparency is flattened on white', async () => {
    const transparent = await sharp({ create: { width: 512, height: 512, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const job = await succeededJob(new Uint8Array(transparent));
    const answer = await jobThumbnail(users.alice, store, job.id);
    assert.equal(answer.status, 200);
    const { data, info } = await sharp(answer.status === 200 ? answer.jpeg : Buffer.alloc(0)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [256, 256, 3]);
    assert.ok(data.every((v) => v >= 250), 'every pixel white');
  });

  test('an image too large to thumbnail: 422 with the reason, nothing stored, the job untouched', async () => {
    const job = await succeededJob();
    // A limit below the 1344x768 image stands in for a picture larger than any Gemini size.
    const answer = await jobThumbnail(users.alice, store, job.id, { maxInputPixels: 1_000_000 });
    assert.deepEqual(answer, { status: 422, message: 'No thumbnail: the image is larger than 1000000 pixels, the most a thumbnail is made of.' });
    assert.equal(await stored(thumbnailPath(job)), false);
    const { rows } = await stack.db.query('select status, result from public.jobs where id = $1', [job.id]);
    assert.equal(rows[0].status, 'succeeded');
    assert.deepEqual(rows[0].result, job.result);
  });

  test('bytes that are not an image: 422', async () => {
    const job = await succeededJob();
    await service.storage.from('results').upload(job.result.path, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), { upsert: true, contentType: 'image/png' });
    const answer = await jobThumbnail(users.alice, store, job.id);
    assert.equal(answer.status, 422);
    assert.match(answer.status === 422 ? answer.message : '', /^No thumbnail: the image could not be read/);
  });
});

describe('what a first view leaves behind', () => {
  // V8 frees ArrayBuffers only by collecting garbage, and starts a full collection when enough
  // of them pile up: what a view leaves decides how often views pay one (80-120 ms of CPU in the
  // server, the route's CPU tail in `npm run bench thumbnail`). Unlike time, this count
  // is the same on a busy machine. It includes the gateway's side, which runs in this process.
  v8.setFlagsFromString('--expose-gc');
  const collectGarbage = vm.runInNewContext('gc') as () => void;

  /** ArrayBuffer bytes allocated during `work`, or null when a collection ran meanwhile (it frees some). */
  async function arrayBuffersAllocated(work: () => Promise<unknown>): Promise<number | null> {
    collectGarbage();
    let collected = false;
    const observer = new PerformanceObserver(() => (collected = true));
    observer.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().arrayBuffers;
    try {
      await work();
      const after = process.memoryUsage().arrayBuffers;
      await new Promise((resolve) => setImmediate(resolve)); // the observer is told after the collection
      return collected ? null : after - before;
    } finally {
      observer.disconnect();
    }
  }

  test('a 1K image is downloaded and joined once: a first view allocates under five times its size in ArrayBuffers', async (t) => {
    const png = new Uint8Array(Buffer.from(promptImage('a lighthouse at dusk', 1024, 1024).base64, 'base64'));
    await jobThumbnail(users.alice, store, (await succeededJob(png)).id); // code loaded and compiled
    let allocated: number | null = null;
    for (let attempt = 0; attempt < 5 && allocated === null; attempt++) {
      const job = await succeededJob(png);
      allocated = await arrayBuffersAllocated(async () => assert.equal((await jobThumbnail(users.alice, store, job.id)).status, 200));
    }
    assert.notEqual(allocated, null, 'five views each ran into a garbage collection');
    const measured = `${(allocated! / 1e6).toFixed(2)} MB of ArrayBuffers for a ${(png.length / 1e6).toFixed(2)} MB image`;
    t.diagnostic(measured);
    assert.ok(allocated! < 5 * png.length, measured);
  });
});
