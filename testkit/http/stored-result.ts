import type { DatabaseClient } from '../../lib/supabase/database.ts';
import type pg from 'pg';
import { thumbnailPath } from '../../lib/jobs/gallery-image.ts';
import { storageThumbnailStore } from '../../lib/jobs/job-thumbnail.ts';
import { makeThumbnailImage } from '../../lib/jobs/thumbnail-image.ts';
import type { ClaimedJob } from '../../supabase/functions/job-worker/pipeline.ts';
import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';
import { createResultStore } from '../../supabase/functions/job-worker/result-store.ts';
import { drawPromptImage } from '../../supabase/local/gemini/image.ts';

/**
 * A finished job's images as the worker leaves them: stored through Storage by the worker's own
 * result store, and the result written onto the job's row.
 */
export async function storeResultAsWorker(
  service: DatabaseClient,
  db: pg.Pool,
  job: { id: string; user_id: string },
  images: { data: Uint8Array; mimeType: string }[] = [{ data: new Uint8Array(drawPromptImage(job.id, 512, 512)), mimeType: 'image/png' }],
): Promise<JobResult> {
  const stored = await createResultStore(service, 'results').storeImages(job as ClaimedJob, images);
  await db.query('update public.jobs set result = $2 where id = $1', [job.id, JSON.stringify(stored)]);
  return stored;
}

/**
 * The job's gallery thumbnail as the app stores it on the first view (lib/jobs/job-thumbnail.ts),
 * made from the stored image, for tests about what happens to it afterwards; the route's own
 * checks are tested in lib/jobs/job-thumbnail.test.ts. Returns its path.
 */
export async function storeThumbnailAsApp(service: DatabaseClient, job: { id: string; user_id: string }, result: JobResult): Promise<string> {
  const { data, error } = await service.storage.from(result.bucket).download(result.path);
  if (error) throw error;
  const thumbnail = await makeThumbnailImage(new Uint8Array(await data.arrayBuffer()));
  const path = thumbnailPath(job);
  await storageThumbnailStore(() => service).upload(result.bucket, path, thumbnail.data);
  return path;
}
