import type { GeneratedImage } from './gemini-call.ts';
import type { ClaimedJob, WorkerClient } from './pipeline.ts';
import type { MakeThumbnail } from './thumbnail.ts';

/**
 * Puts a job's images in Storage and builds the job's result. The path is fixed by the job,
 * <user_id>/<job_id>.png (then -2, -3, ... for more images), which is what the bucket's read
 * policy keys on, and upsert makes a retry after a crash between upload and complete_job
 * overwrite its own leftovers instead of failing on them. The first image also gets a JPEG
 * thumbnail beside it, <user_id>/<job_id>.thumb.jpg, for the gallery: same folder, so the same
 * read policy and the same erasure cover it. A thumbnail is a convenience: when it cannot be made
 * or stored the job still succeeds, with thumbnail_path null (the gallery then shows the result).
 */
export type StoredImage = {
  path: string;
  mimeType: string;
  width: number | null;
  height: number | null;
  bytes: number;
}

export type JobResult = {
  bucket: string;
  path: string;
  mimeType: string;
  width: number | null;
  height: number | null;
  bytes: number;
  images?: StoredImage[];
  thumbnail_path: string | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
}

export interface ResultStore {
  store(job: ClaimedJob, images: GeneratedImage[]): Promise<JobResult>;
}

export class ResultStoreError extends Error {}

/** Width and height from a PNG's IHDR chunk (bytes 16..23); null for anything else. */
export function pngDimensions(data: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (data.length < 24 || signature.some((b, i) => data[i] !== b)) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export function resultPath(job: Pick<ClaimedJob, 'id' | 'user_id'>, index = 0): string {
  return `${job.user_id}/${job.id}${index === 0 ? '' : `-${index + 1}`}.png`;
}

export function thumbnailPath(job: Pick<ClaimedJob, 'id' | 'user_id'>): string {
  return `${job.user_id}/${job.id}.thumb.jpg`;
}

export interface ResultStoreDeps {
  makeThumbnail: MakeThumbnail;
  log: (line: string) => void;
}

export function createResultStore(supabase: WorkerClient, bucket: string, deps: ResultStoreDeps): ResultStore {
  const storeThumbnail = async (job: ClaimedJob, image: GeneratedImage) => {
    const path = thumbnailPath(job);
    try {
      const thumbnail = await deps.makeThumbnail(image.data, image.mimeType);
      const { error } = await supabase.storage
        .from(bucket)
        .upload(path, thumbnail.data, { contentType: thumbnail.mimeType, upsert: true, cacheControl: '3600' });
      if (error) throw new Error(`upload failed: ${error.message}`);
      return { thumbnail_path: path, thumbnail_width: thumbnail.width, thumbnail_height: thumbnail.height };
    } catch (error) {
      deps.log(`job ${job.id}: no thumbnail (${image.mimeType}, ${image.data.length} bytes): ${(error as Error).message}`);
      return { thumbnail_path: null, thumbnail_width: null, thumbnail_height: null };
    }
  };
  return {
    async store(job, images) {
      const stored: StoredImage[] = [];
      for (const [index, image] of images.entries()) {
        const path = resultPath(job, index);
        const { error } = await supabase.storage
          .from(bucket)
          .upload(path, image.data, { contentType: image.mimeType, upsert: true, cacheControl: '3600' });
        if (error) throw new ResultStoreError(`upload of ${path} failed: ${error.message}`);
        const size = pngDimensions(image.data);
        stored.push({ path, mimeType: image.mimeType, width: size?.width ?? null, height: size?.height ?? null, bytes: image.data.length });
      }
      const first = stored[0]!;
      const thumbnail = await storeThumbnail(job, images[0]!);
      return { bucket, ...first, ...(stored.length > 1 ? { images: stored } : {}), ...thumbnail };
    },
  };
}
