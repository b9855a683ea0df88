import type { WorkerClient } from './pipeline.ts';

/**
 * Removes the Storage objects the database queued for erasure: a deleted user's, a deleted job's,
 * and the images the result-image retention window expired (see the user-deletion, job-deletion
 * and result-image-expiry migrations). Only the Storage API may delete objects and the database
 * cannot call it; the worker holds the secret key and is invoked often, so it empties the queue:
 * claim a batch, remove it through Storage, mark it done. A batch that fails stays claimed, five
 * minutes after its first attempt and twice as long after each next one (at most a day); the
 * sweep invokes the worker again when the claim runs out (job_worker_has_work).
 */
export async function eraseQueuedObjects(supabase: WorkerClient, log: (line: string) => void, batch = 100): Promise<number> {
  let erased = 0;
  for (;;) {
    const { data, error } = await supabase.rpc('claim_object_erasures', { p_limit: batch });
    if (error) throw new Error(`claim_object_erasures: ${error.message}`);
    const items = data ?? [];
    if (items.length === 0) return erased;
    const byBucket = new Map<string, string[]>();
    for (const item of items) byBucket.set(item.bucket_id, [...(byBucket.get(item.bucket_id) ?? []), item.name]);
    for (const [bucket, names] of byBucket) {
      const removed = await supabase.storage.from(bucket).remove(names);
      if (removed.error) throw new Error(`removing ${names.length} objects from ${bucket}: ${removed.error.message}`);
    }
    const finished = await supabase.rpc('finish_object_erasures', { p_ids: items.map((i) => i.id) });
    if (finished.error) throw new Error(`finish_object_erasures: ${finished.error.message}`);
    erased += items.length;
    log(`erased ${items.length} queued objects`);
    if (items.length < batch) return erased;
  }
}
