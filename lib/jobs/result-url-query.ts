import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { jobKeys } from './keys';

/** An hour: long enough to look at the image, short enough that a copied link goes stale. */
export const RESULT_URL_SECONDS = 3600;

/** A signed URL for a result image in the private `results` bucket (its read policy decides). */
export async function fetchResultUrl(supabase: DatabaseClient, bucket: string, path: string): Promise<string> {
  const { data, error } = await supabase.storage.from(bucket).createSignedUrl(path, RESULT_URL_SECONDS);
  if (error) throw new Error(error.message);
  return data.signedUrl;
}

export const resultUrlQueryOptions = (supabase: DatabaseClient, jobId: string, bucket: string, path: string) =>
  queryOptions({
    queryKey: jobKeys.resultUrl(jobId, path),
    queryFn: () => fetchResultUrl(supabase, bucket, path),
    // Refresh well before the signature expires.
    staleTime: (RESULT_URL_SECONDS / 2) * 1000,
  });

export const useResultUrl = (jobId: string, result: { bucket: string; path: string } | null) =>
  useQuery({
    ...resultUrlQueryOptions(createClient(), jobId, result?.bucket ?? '', result?.path ?? ''),
    enabled: result !== null,
  });
