import type { DatabaseClient } from '@/lib/supabase/database';
import { thumbnailPath } from './gallery-image';
import { fetchJob } from './job-query';
import type { Job } from './job-schema';
import { makeThumbnailImage, ThumbnailImageError, withThumbnailSlot, type Thumbnail } from './thumbnail-image';

/** What the thumbnail route answers: the JPEG, or a status and the reason. */
export type ThumbnailAnswer =
  | { status: 200; jpeg: Uint8Array; source: 'storage' | 'made' }
  | { status: 401 | 404 | 410 | 422 | 502; message: string };

/**
 * Stores a thumbnail the app made. Only the app server holds it: the bucket's policies let no
 * signed-in user write (results are written by the worker), so this is the secret-key client.
 */
export type ThumbnailStore = {
  upload(bucket: string, path: string, jpeg: Uint8Array): Promise<void>;
  remove(bucket: string, path: string): Promise<void>;
};

/**
 * Thumbnails kept in Storage through the (secret-key) client the factory makes, only when one is
 * stored or removed: a view served from Storage, or refused, never needs the key.
 */
export function storageThumbnailStore(client: () => DatabaseClient): ThumbnailStore {
  return {
    async upload(bucket, path, jpeg) {
      const { error } = await client().storage.from(bucket).upload(path, jpeg, { contentType: 'image/jpeg', upsert: true, cacheControl: '86400' });
      if (error) throw new Error(error.message);
    },
    async remove(bucket, path) {
      const { error } = await client().storage.from(bucket).remove([path]);
      if (error) throw new Error(error.message);
    },
  };
}

/**
 * A job's gallery thumbnail, for the caller whose client this is (null: nobody is signed in, or
 * the session did not verify; createCallerClient in lib/supabase/server.ts). Everything the
 * caller reads goes through their own session: the job through RLS (owners their own, support
 * and admin all), the stored thumbnail and the original image through Storage's read policy. So the secret key
 * only ever writes a thumbnail of an image the caller has just proved they may read.
 *
 * The thumbnail is made once: the first view finds no object, downloads the image, makes the
 * JPEG (thumbnail-image.ts) and stores it at the job's thumbnail path; every later view, and the
 * gallery's batch signing, finds it in Storage. Views of the same job at once in this process
 * share one making.
 */
export async function jobThumbnail(caller: DatabaseClient | null, store: ThumbnailStore, jobId: string, options: { maxInputPixels?: number } = {}): Promise<ThumbnailAnswer> {
  if (!caller) return { status: 401, message: 'Sign in to see this image.' };
  const job = await fetchJob(caller, jobId);
  const unavailable = whyUnavailable(job);
  if (unavailable) return unavailable;
  const { bucket, path: imagePath } = job!.result!;
  const path = thumbnailPath(job!);

  const stored = await downloadBytes(caller, bucket, path);
  if (stored.data) return { status: 200, jpeg: stored.data, source: 'storage' };
  if (!isNotFound(stored.error)) return { status: 502, message: `Storage did not answer: ${stored.error?.message}` };

  const key = `${bucket}/${path}`;
  let making = inFlight.get(key);
  if (!making) {
    making = makeAndStore(caller, store, job!, bucket, imagePath, path, options.maxInputPixels).finally(() => inFlight.delete(key));
    inFlight.set(key, making);
  }
  return making;
}

const inFlight = new Map<string, Promise<ThumbnailAnswer>>();

function whyUnavailable(job: Job | null): ThumbnailAnswer | null {
  if (!job) return { status: 404, message: 'No such job.' };
  if (job.content_deleted_at) return { status: 410, message: 'This job was deleted.' };
  if (job.image_expired_at) return { status: 410, message: 'This image has expired.' };
  if (job.status !== 'succeeded' || !job.result) return { status: 404, message: 'This job has no image.' };
  return null;
}

/**
 * An object's bytes, downloaded as the caller, joined once. Not download()'s Blob: undici joins
 * the body's chunks, copies them into the Blob, and the Blob's arrayBuffer() copies twice more.
 * Each copy is an ArrayBuffer that only a garbage collection frees, and V8 starts a full one
 * when enough of them pile up: with a 700 KB image that was 4.8 MB per first view, and a quarter
 * of first views ran into a full collection (80-120 ms of CPU), the thumbnail route's CPU tail.
 * Read as a stream and joined once, it is 2.15 MB, most of it the HTTP client's own buffers
 * (Next.js's fetch would tee the download for 0.7 MB more; the route's caller client opts out,
 * lib/supabase/server.ts).
 */
async function downloadBytes(caller: DatabaseClient, bucket: string, path: string) {
  const { data: body, error } = await caller.storage.from(bucket).download(path).asStream();
  if (!body) return { data: null, error };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    size += read.value.byteLength;
  }
  return { data: Buffer.concat(chunks, size), error: null } as const;
}

/** Storage's "no such object": hosted Storage answers 400 with statusCode "404" in the body; 404 also counts. */
function isNotFound(error: unknown): boolean {
  const e = error as { status?: number; statusCode?: string } | null;
  return e?.statusCode === '404' || e?.status === 404;
}

async function makeAndStore(
  caller: DatabaseClient,
  store: ThumbnailStore,
  job: Job,
  bucket: string,
  imagePath: string,
  path: string,
  maxInputPixels: number | undefined,
): Promise<ThumbnailAnswer> {
  const made = await withThumbnailSlot(async (): Promise<Thumbnail | ThumbnailAnswer> => {
    const original = await downloadBytes(caller, bucket, imagePath);
    if (!original.data) {
      // The row still names the image but Storage has none: erased a moment ago (deleted or expired).
      return isNotFound(original.error) ? { status: 410, message: 'This image is no longer stored.' } : { status: 502, message: `Storage did not answer: ${original.error?.message}` };
    }
    try {
      return await makeThumbnailImage(original.data, maxInputPixels);
    } catch (error) {
      if (error instanceof ThumbnailImageError) return { status: 422, message: `No thumbnail: ${error.message}.` };
      throw error;
    }
  });
  if ('status' in made) return made;
  const thumbnail = made;
  try {
    await store.upload(bucket, path, thumbnail.data);
  } catch (error) {
    // Served all the same; the next view makes it again.
    console.error(`thumbnail of job ${job.id} not stored: ${(error as Error).message}`);
    return { status: 200, jpeg: thumbnail.data, source: 'made' };
  }
  // The job's objects are erased by prefix when it is deleted or its image expires: a thumbnail
  // stored after that erasure listed the folder would be left behind. Looked at again now that
  // it is stored, and removed if the job lost its image meanwhile.
  const after = await fetchJob(caller, job.id);
  const gone = whyUnavailable(after);
  if (gone) {
    await store.remove(bucket, path).catch((error: Error) => console.error(`thumbnail of job ${job.id} left after erasure: ${error.message}`));
    return gone;
  }
  return { status: 200, jpeg: thumbnail.data, source: 'made' };
}
