import { z } from 'zod';

/**
 * A job's result, the one definition of its shape in TypeScript: the worker writes it
 * (job-worker/result-store.ts imports the type), the app parses it from REST and from the owner's
 * Realtime message, and the database holds every stored result to the same shape (the
 * jobs_result_shape CHECK, private.is_job_result). It lives here, under supabase/functions, because
 * deploy uploads nothing above that folder; `zod` and nothing local, so Deno type-checks it with
 * the worker (its deno.json maps zod) and Node and Next.js resolve zod from node_modules.
 *
 * Where the worker put the image: Storage bucket and object path (named with the image's real
 * extension), its content type and size, and every image when the call returned several. Fields a
 * result from before they were recorded lacks are optional. The gallery thumbnail is not part of
 * it: the app makes it on the first view, at a path derived from the job (thumbnailPath in
 * lib/jobs/gallery-image.ts). The thumbnail_* keys are what workers wrote before that; no
 * worker writes them and nothing reads them, and they stay accepted so results stored before
 * still pass the database's check.
 */
export const storedImageSchema = z.object({
  path: z.string(),
  mimeType: z.string(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  bytes: z.number(),
});
export type StoredImage = z.infer<typeof storedImageSchema>;

export const jobResultSchema = z.object({
  bucket: z.string(),
  path: z.string(),
  mimeType: z.string().optional(),
  bytes: z.number().optional(),
  width: z.number().nullable().optional(),
  height: z.number().nullable().optional(),
  /** Every image, the first included, when the call returned more than one. */
  images: z.array(storedImageSchema).optional(),
  /** Written by workers before the app made thumbnails; read by nothing. */
  thumbnail_path: z.string().nullable().optional(),
  thumbnail_width: z.number().nullable().optional(),
  thumbnail_height: z.number().nullable().optional(),
});
export type JobResult = z.infer<typeof jobResultSchema>;
