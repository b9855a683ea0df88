import { infiniteQueryOptions, useInfiniteQuery, type InfiniteData } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { createClient } from '@/lib/supabase/client';
import { jobKeys } from './keys';
import { galleryImage, thumbnailRoute } from './gallery-image';
import { keepNewerJobs } from './job-cache-merge';
import { JOB_COLUMNS, jobSchema, mergeJobRows, type Job } from './job-schema';
import { RESULT_URL_SECONDS } from './result-url-query';

/** Two rows of a wide screen's grid; a long history loads a page at a time as the user scrolls. */
export const GALLERY_PAGE_SIZE = 24;

/** Keyset: the last card's (created_at, id), so a page never shifts when new jobs arrive above it. */
export type GalleryCursor = { createdAt: string; id: string };

/**
 * One card: the job, what the ledger refunded for its current charge, and the URL of its
 * thumbnail: signed when the thumbnail is in Storage, else the app's thumbnail route, which makes
 * it (null for a job without an image, or one that finished after its page was loaded: the card
 * then asks the route).
 */
export type GalleryItem = Job & { refunded: number; thumbnailUrl: string | null };
export type GalleryPage = { items: GalleryItem[]; next: GalleryCursor | null };
export type GalleryData = InfiniteData<GalleryPage, GalleryCursor | null>;

const galleryRowSchema = jobSchema.extend({ charge_seq: z.number().int() });

/**
 * A page of the user's jobs, newest first (index jobs_user_created_idx), with the refunds of its
 * failed and cancelled jobs in one ledger query and the signed URLs of its images in one
 * createSignedUrls call per bucket: three requests a page, however many cards. Filtered by user
 * id explicitly although RLS already limits end users to their rows: staff read every job, and
 * their own history must still be theirs.
 */
export async function fetchGalleryPage(supabase: DatabaseClient, userId: string, cursor: GalleryCursor | null): Promise<GalleryPage> {
  let query = supabase
    .from('jobs')
    .select(`${JOB_COLUMNS},charge_seq`)
    .eq('user_id', userId)
    // A deleted job stays a row (the record of its charge) but is no longer in the history.
    .is('content_deleted_at', null)
    .order('created_at', { ascending: false })
    .order('id', { ascending: false })
    .limit(GALLERY_PAGE_SIZE);
  if (cursor) {
    query = query.or(`created_at.lt."${cursor.createdAt}",and(created_at.eq."${cursor.createdAt}",id.lt.${cursor.id})`);
  }
  const { data, error } = await query;
  if (error) throw new Error(error.message);
  const rows = galleryRowSchema.array().parse(data);

  const [refunds, urls] = await Promise.all([fetchRefunds(supabase, rows), signResults(supabase, rows)]);
  const items = rows.map(({ charge_seq: chargeSeq, ...job }) => ({
    ...job,
    refunded: refunds.get(`${job.id}:${chargeSeq}`) ?? 0,
    thumbnailUrl: job.status === 'succeeded' && job.result ? (urls.get(imageKey(galleryImage({ ...job, result: job.result }))) ?? thumbnailRoute(job.id)) : null,
  }));
  const last = rows.at(-1);
  return { items, next: rows.length === GALLERY_PAGE_SIZE && last ? { createdAt: last.created_at, id: last.id } : null };
}

/** Refunds keyed by job and charge: a retried job's earlier refund is not its current one. */
async function fetchRefunds(supabase: DatabaseClient, rows: { id: string; status: string }[]): Promise<Map<string, number>> {
  const ended = rows.filter((r) => r.status === 'failed' || r.status === 'cancelled').map((r) => r.id);
  const refunds = new Map<string, number>();
  if (ended.length === 0) return refunds;
  const { data, error } = await supabase.from('credit_ledger').select('job_id,charge_seq,delta').eq('reason', 'job_refund').in('job_id', ended);
  if (error) throw new Error(error.message);
  for (const row of data ?? []) refunds.set(`${row.job_id}:${row.charge_seq}`, Number(row.delta));
  return refunds;
}

const imageKey = (image: { bucket: string; path: string }) => `${image.bucket}/${image.path}`;

/**
 * Signed URLs for the page's thumbnails, one batch per bucket: one request for the page instead
 * of one per card. Supabase's batch signing takes no image transformation (only a single
 * createSignedUrl does, and transformations are a paid hosted feature), which is why thumbnails
 * are stored objects. A thumbnail nobody has viewed yet is not in Storage: Storage answers that
 * path with an error and no URL (the rest of the batch is signed), and its card asks the app's
 * thumbnail route instead, which makes and stores it once.
 */
async function signResults(supabase: DatabaseClient, rows: Job[]): Promise<Map<string, string>> {
  const byBucket = new Map<string, string[]>();
  for (const row of rows) {
    if (row.status !== 'succeeded' || !row.result) continue;
    const image = galleryImage({ ...row, result: row.result });
    byBucket.set(image.bucket, [...(byBucket.get(image.bucket) ?? []), image.path]);
  }
  const urls = new Map<string, string>();
  await Promise.all(
    [...byBucket].map(async ([bucket, paths]) => {
      const { data, error } = await supabase.storage.from(bucket).createSignedUrls(paths, RESULT_URL_SECONDS);
      // Signing failed altogether: every card asks the thumbnail route rather than failing the page.
      if (error) return;
      for (const signed of data) if (signed.path && signed.signedUrl) urls.set(imageKey({ bucket, path: signed.path }), signed.signedUrl);
    }),
  );
  return urls;
}

export const galleryQueryOptions = (supabase: DatabaseClient, userId: string) =>
  infiniteQueryOptions({
    queryKey: jobKeys.list(userId),
    queryFn: ({ pageParam }) => fetchGalleryPage(supabase, userId, pageParam),
    initialPageParam: null as GalleryCursor | null,
    getNextPageParam: (last: GalleryPage) => last.next,
    // Signed URLs expire after an hour; pages are signed afresh well before.
    staleTime: (RESULT_URL_SECONDS / 2) * 1000,
    // A page refetched while its jobs change keeps the cards the live messages made newer.
    structuralSharing: keepNewerJobs<GalleryData>((cached, incoming) => {
      const cards = cached.pages.flatMap((page) => page.items);
      return { ...incoming, pages: incoming.pages.map((page) => ({ ...page, items: mergeJobRows(cards, page.items) })) };
    }),
  });

export const useGallery = (userId: string) => useInfiniteQuery(galleryQueryOptions(createClient(), userId));
