import { jobThumbnail, storageThumbnailStore } from '@/lib/jobs/job-thumbnail';
import { createCallerClient } from '@/lib/supabase/server';
import { createSecretClient } from '@/lib/supabase/secret';

// sharp is a native module: the Node.js runtime, never the edge one.
export const runtime = 'nodejs';

/**
 * GET /jobs/<id>/thumbnail: the job's gallery thumbnail (a JPEG of at most 256 px) for the
 * signed-in caller, made on its first view (lib/jobs/job-thumbnail.ts). The gallery links here
 * only for thumbnails not stored yet; once made, the gallery signs the stored object directly.
 * A thumbnail never changes (a job's image is fixed), so the browser keeps it, privately.
 */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const answer = await jobThumbnail(await createCallerClient(), storageThumbnailStore(createSecretClient), id);
  if (answer.status !== 200) {
    return Response.json({ error: answer.message }, { status: answer.status, headers: { 'Cache-Control': 'private, no-store' } });
  }
  return new Response(answer.jpeg as Uint8Array<ArrayBuffer>, {
    headers: {
      'Content-Type': 'image/jpeg',
      'Cache-Control': 'private, max-age=31536000, immutable',
      'X-Thumbnail-Source': answer.source,
    },
  });
}
