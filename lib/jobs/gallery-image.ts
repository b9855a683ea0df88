import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';

export type GalleryImage = { bucket: string; path: string; width: number | null; height: number | null };

/**
 * What a gallery card shows of a result: the thumbnail the worker stored beside it (a JPEG of at
 * most 256 px, a few kB), or the full image for a job stored without one. The job page shows the
 * full image.
 */
export function galleryImage(result: JobResult): GalleryImage {
  return result.thumbnail_path
    ? { bucket: result.bucket, path: result.thumbnail_path, width: result.thumbnail_width ?? null, height: result.thumbnail_height ?? null }
    : { bucket: result.bucket, path: result.path, width: result.width ?? null, height: result.height ?? null };
}
