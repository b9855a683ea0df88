import type { JobResult, StoredImage } from '../_shared/job-result.ts';
import type { GeneratedImage } from './gemini-call.ts';
import type { ClaimedJob, WorkerClient } from './pipeline.ts';

/**
 * Puts a job's images in Storage and builds the job's result. The path is fixed by the job,
 * <user_id>/<job_id>.<ext> (then -2, -3, ... for more images), which is what the bucket's read
 * policy keys on; the extension and the stored content type are the image's real type, read from
 * its bytes (Gemini answers PNG or JPEG, and a JPEG named .png downloads as a file the user's
 * system misreads). Upsert makes a retry after a crash between upload and complete_job
 * overwrite its own leftovers instead of failing on them. The worker makes no thumbnail: decoding
 * a PNG costs more CPU than an edge function's whole budget per job, so the app server makes the
 * gallery's thumbnail the first time someone views it (docs/worker.md, "Memory and CPU").
 * The result's shape is ../_shared/job-result.ts, which the database's jobs_result_shape check holds.
 */
export interface ResultStore {
  /** The images uploaded and the job's result built from where they went. */
  storeImages(job: ClaimedJob, images: GeneratedImage[]): Promise<JobResult>;
}

export class ResultStoreError extends Error {}

/** Width and height from a PNG's IHDR chunk (bytes 16..23); null for anything else. */
export function pngDimensions(data: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (data.length < 24 || signature.some((b, i) => data[i] !== b)) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** The image types a result may have, by their signatures; the declared type decides otherwise. */
const IMAGE_TYPES: { mimeType: string; extension: string; signature: (data: Uint8Array) => boolean }[] = [
  { mimeType: 'image/png', extension: 'png', signature: (d) => startsWith(d, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { mimeType: 'image/jpeg', extension: 'jpg', signature: (d) => startsWith(d, [0xff, 0xd8, 0xff]) },
  { mimeType: 'image/webp', extension: 'webp', signature: (d) => startsWith(d, [0x52, 0x49, 0x46, 0x46]) && startsWith(d.subarray(8), [0x57, 0x45, 0x42, 0x50]) },
  { mimeType: 'image/gif', extension: 'gif', signature: (d) => startsWith(d, [0x47, 0x49, 0x46, 0x38]) },
];

const startsWith = (data: Uint8Array, bytes: number[]) => data.length >= bytes.length && bytes.every((b, i) => data[i] === b);

/** The image's real content type and file extension: its signature first, then what the provider declared. */
export function imageType(data: Uint8Array, declared: string): { mimeType: string; extension: string } {
  const type = IMAGE_TYPES.find((t) => t.signature(data)) ?? IMAGE_TYPES.find((t) => t.mimeType === declared.toLowerCase());
  return type ? { mimeType: type.mimeType, extension: type.extension } : { mimeType: declared || 'application/octet-stream', extension: 'bin' };
}

export function resultPath(job: Pick<ClaimedJob, 'id' | 'user_id'>, extension: string, index = 0): string {
  return `${job.user_id}/${job.id}${index === 0 ? '' : `-${index + 1}`}.${extension}`;
}

export function createResultStore(supabase: WorkerClient, bucket: string): ResultStore {
  return {
    async storeImages(job, images) {
      const stored: StoredImage[] = [];
      for (const [index, image] of images.entries()) {
        const type = imageType(image.data, image.mimeType);
        const path = resultPath(job, type.extension, index);
        const { error } = await supabase.storage
          .from(bucket)
          .upload(path, image.data, { contentType: type.mimeType, upsert: true, cacheControl: '3600' });
        if (error) throw new ResultStoreError(`upload of ${path} failed: ${error.message}`);
        const size = pngDimensions(image.data);
        stored.push({ path, mimeType: type.mimeType, width: size?.width ?? null, height: size?.height ?? null, bytes: image.data.length });
      }
      const first = stored[0]!;
      return { bucket, ...first, ...(stored.length > 1 ? { images: stored } : {}) };
    },
  };
}
