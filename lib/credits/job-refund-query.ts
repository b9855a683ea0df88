import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { creditKeys } from './keys';

/**
 * Credits given back for a job, read from the ledger rather than inferred from the status, so
 * "credits refunded" is shown only when the refund row exists.
 */
export async function fetchJobRefund(supabase: DatabaseClient, jobId: string): Promise<number> {
  const { data, error } = await supabase
    .from('credit_ledger')
    .select('delta')
    .eq('job_id', jobId)
    .eq('reason', 'job_refund');
  if (error) throw new Error(error.message);
  return (data ?? []).reduce((sum, row) => sum + Number(row.delta), 0);
}

export const jobRefundQueryOptions = (supabase: DatabaseClient, jobId: string) =>
  queryOptions({ queryKey: creditKeys.jobRefund(jobId), queryFn: () => fetchJobRefund(supabase, jobId) });

/** Asked only once the job has ended failed or cancelled: before that there is nothing to find. */
export const useJobRefund = (jobId: string, enabled: boolean) =>
  useQuery({ ...jobRefundQueryOptions(createClient(), jobId), enabled });
