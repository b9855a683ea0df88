import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jobResultSchema } from '../functions/_shared/job-result.ts';
import { parseUserJobChange } from '../../lib/jobs/user-job-change.ts';
import { drawPromptImage } from '../../supabase/local/gemini/image.ts';
import { claim, createJob, emptyQueue, getJob, query, rejects } from '../../testkit/database/fixtures.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { startTestStack, type TestStack } from '../../testkit/http/stack.ts';
import { storeResultAsWorker } from '../../testkit/http/stored-result.ts';

/**
 * A job's result has one shape: the worker writes it, the database holds every stored result to
 * it (jobs_result_shape), the owner's message carries it as stored, and the app's schema
 * (supabase/functions/_shared/job-result.ts) reads all of it, dropping nothing.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.stop();
});

async function runningJob() {
  await emptyQueue(stack.db);
  const job = await createJob(stack.db);
  const [running] = await claim(stack.db);
  assert.equal(running!.id, job.id);
  return running!;
}

const ownerMessage = async (id: string) =>
  (
    await stack.db.query(
      `select payload from realtime.messages where topic like 'user:%' and payload ->> 'id' = $1 and payload ->> 'status' = 'succeeded'`,
      [id],
    )
  ).rows[0]?.payload;

describe('the job result', () => {
  test("the worker's results, one image or several, pass the database's check and read back whole", async () => {
    const service = createTestClient(stack, stack.secretKey);
    const one = await runningJob();
    const stored = await storeResultAsWorker(service, stack.db, one);
    assert.deepEqual(jobResultSchema.parse((await getJob(stack.db, one.id) as unknown as { result: unknown }).result), stored);
    assert.match(stored.path, /\.png$/, 'named with its real extension');

    const several = await runningJob();
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
    const png = new Uint8Array(drawPromptImage(several.id, 64, 64));
    const both = await storeResultAsWorker(service, stack.db, several, [
      { data: png, mimeType: 'image/png' },
      // Declared PNG, but the bytes are a JPEG: stored and named as what it is.
      { data: jpeg, mimeType: 'image/png' },
    ]);
    assert.equal(both.images?.length, 2);
    assert.deepEqual([both.images![1]!.mimeType, both.images![1]!.path.split('.').at(-1)], ['image/jpeg', 'jpg']);
    assert.deepEqual(jobResultSchema.parse((await getJob(stack.db, several.id) as unknown as { result: unknown }).result), both);
  });

  test("the owner's message carries the result as stored, and the app reads it", async () => {
    const job = await runningJob();
    const result = {
      bucket: 'results', path: `${job.user_id}/${job.id}.jpg`, mimeType: 'image/jpeg', bytes: 2048, width: 64, height: 48,
      images: [
        { path: `${job.user_id}/${job.id}.jpg`, mimeType: 'image/jpeg', bytes: 2048, width: 64, height: 48 },
        { path: `${job.user_id}/${job.id}-2.png`, mimeType: 'image/png', bytes: 4096, width: 64, height: 48 },
      ],
      thumbnail_path: null, thumbnail_width: null, thumbnail_height: null,
    };
    await query(stack.db, 'service', 'select public.complete_job($1, $2, $3)', [job.id, job.lease_token, JSON.stringify(result)]);
    const message = await ownerMessage(job.id);
    assert.deepEqual(message.result, result);
    assert.deepEqual(parseUserJobChange(message)?.result, result);
  });

  test('a result of any other shape is refused, and the job stays as it was', async () => {
    const job = await runningJob();
    const base = { bucket: 'results', path: `${job.user_id}/${job.id}.png` };
    const malformed: [string, unknown][] = [
      ['not an object', ['results', base.path]],
      ['no path', { bucket: 'results' }],
      ['a path that is not text', { ...base, path: 42 }],
      ['an unknown key', { ...base, url: 'https://example.com/x.png' }],
      ['a size that is not a number', { ...base, bytes: '2048' }],
      ['images that are not a list', { ...base, images: {} }],
      ['an image without its type', { ...base, images: [{ path: base.path, bytes: 1, width: null, height: null }] }],
      ['an image with an unknown key', { ...base, images: [{ path: base.path, mimeType: 'image/png', bytes: 1, width: null, height: null, url: 'x' }] }],
    ];
    for (const [what, result] of malformed) {
      await rejects(
        query(stack.db, 'service', 'select public.complete_job($1, $2, $3)', [job.id, job.lease_token, JSON.stringify(result)]),
        '23514',
        /jobs_result_shape/,
      ).catch((error) => assert.fail(`${what}: ${(error as Error).message}`));
    }
    const after = await getJob(stack.db, job.id);
    assert.deepEqual([after.status, (after as unknown as { result: unknown }).result], ['running', null]);
  });
});
