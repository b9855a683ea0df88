import { useMutation } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import type { JobResult } from '../../supabase/functions/_shared/job-result.ts';
import type { Job } from './job-schema';

/**
 * Downloading a result: a signed URL with Storage's `download` option, so Storage answers with
 * Content-Disposition: attachment and the browser saves the file under the name given here. Never
 * a public URL: the bucket is private, and a signature is signed for one object by someone its
 * read policy admits (the owner) and expires.
 */

/** Long enough to start the download, short enough that a copied link is useless soon after. */
export const DOWNLOAD_URL_SECONDS = 60;

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/** The file's extension from the stored content type, else from the stored name (older results). */
export function imageExtension(result: Pick<JobResult, 'path' | 'mimeType'>): string {
  const fromType = result.mimeType ? EXTENSIONS[result.mimeType.toLowerCase()] : undefined;
  if (fromType) return fromType;
  const fromPath = /\.([a-z0-9]{1,5})$/i.exec(result.path)?.[1]?.toLowerCase();
  return fromPath && fromPath !== 'thumb' ? fromPath : 'png';
}

const MAX_SLUG = 60;

/**
 * A file name a person recognises in their downloads folder: the prompt's first words and the
 * day the image was made, `a-lighthouse-at-dusk-2026-12-07.png`. Letters and digits only (accents
 * folded to ASCII), hyphens between words, at most 60 characters, cut at a word: the name is
 * safe on every file system and passes through every URL and header unencoded.
 */
export function downloadFileName(job: Pick<Job, 'prompt' | 'created_at' | 'finished_at'> & { result: Pick<JobResult, 'path' | 'mimeType'> }): string {
  const words = job.prompt
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > MAX_SLUG) {
      if (!slug) slug = word.slice(0, MAX_SLUG);
      break;
    }
    slug = next;
  }
  const day = (job.finished_at ?? job.created_at).slice(0, 10);
  return `${slug || 'image'}-${day}.${imageExtension(job.result)}`;
}

/** A signed download URL for the job's full image. */
export async function createDownloadUrl(supabase: DatabaseClient, job: Pick<Job, 'prompt' | 'created_at' | 'finished_at'> & { result: JobResult }): Promise<string> {
  const { data, error } = await supabase.storage
    .from(job.result.bucket)
    .createSignedUrl(job.result.path, DOWNLOAD_URL_SECONDS, { download: downloadFileName(job) });
  if (error) throw new Error(error.message);
  return data.signedUrl;
}

/**
 * The Download button's action: sign, then open the URL. Storage answers with an attachment, so
 * the browser saves the file and the page stays where it is.
 */
export function useImageDownload() {
  return useMutation({
    mutationFn: async (job: Pick<Job, 'prompt' | 'created_at' | 'finished_at'> & { result: JobResult }) => {
      window.location.assign(await createDownloadUrl(createClient(), job));
    },
  });
}
