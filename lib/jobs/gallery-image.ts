import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';

/** The gallery's thumbnail: the longest side at most this many pixels, never enlarged. */
export const THUMBNAIL_MAX_SIDE = 256;

/**
 * Where a job's gallery thumbnail lives in Storage: beside its images, <user_id>/<job_id>.thumb.jpg,
 * in the result's bucket. Same folder, so the bucket's read policy covers it exactly as the image,
 * and the erasures of a deleted job, a deleted user and an expired image (which remove every object
 * named <user_id>/<job_id>...) remove it too. The one place the path is derived.
 */
export function thumbnailPath(job: { id: string; user_id: string }): string {
  return `${job.user_id}/${job.id}.thumb.jpg`;
}

/** The URL of the app's route that serves a job's thumbnail, making it on the first view. */
export function thumbnailRoute(jobId: string): string {
  return `/jobs/${jobId}/thumbnail`;
}

/** The thumbnail's size for an image of this size: scaled so the longest side fits, never enlarged. */
export function thumbnailSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, THUMBNAIL_MAX_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export type GalleryImage = { bucket: string; path: string; width: number | null; height: number | null };

/**
 * What a gallery card shows of a result: its thumbnail (a JPEG of at most 256 px, a few kB), with
 * the size it has or will have when made. The job page shows the full image.
 */
export function galleryImage(job: { id: string; user_id: string; result: JobResult }): GalleryImage {
  const { result } = job;
  const size = result.width && result.height ? thumbnailSize(result.width, result.height) : null;
  return { bucket: result.bucket, path: thumbnailPath(job), width: size?.width ?? null, height: size?.height ?? null };
}
