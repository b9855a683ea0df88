import type { DatabaseClient } from '../../lib/supabase/database.ts';
import type pg from 'pg';
import type { ClaimedJob } from '../../supabase/functions/job-worker/pipeline.ts';
import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';
import { createResultStore } from '../../supabase/functions/job-worker/result-store.ts';
import { makeThumbnail } from '../../supabase/functions/job-worker/thumbnail.ts';
import { drawPromptImage } from '../../supabase/local/gemini/image.ts';

/**
 * A finished job's images as the worker leaves them: the image and its thumbnail stored through
 * Storage by the worker's own result store, and the result written onto the job's row.
 */
export async function storeResultAsWorker(
  service: DatabaseClient,
  db: pg.Pool,
  job: { id: string; user_id: string },
  images: { data: Uint8Array; mimeType: string }[] = [{ data: new Uint8Array(drawPromptImage(job.id, 512, 512)), mimeType: 'image/png' }],
): Promise<JobResult> {
  const results = createResultStore(service, 'results', { makeThumbnail, log: () => {} });
  const stored = await results.store(job as ClaimedJob, images);
  await db.query('update public.jobs set result = $2 where id = $1', [job.id, JSON.stringify(stored)]);
  return stored;
}
