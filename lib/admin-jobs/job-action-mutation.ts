import type { DatabaseClient } from '@/lib/supabase/database';
import { reasonSchema } from '@/lib/audit/reason-schema';
import { JOB_ACTION_RPC, jobActionOutcomeSchema, type JobAction, type JobActionOutcome } from './job-actions';

export interface JobActionInput {
  action: JobAction;
  ids: string[];
  reason: string;
}

/**
 * Runs one bulk action. The whole call fails only for the role, the reason or the id list;
 * otherwise each job gets its own outcome (done, or skipped with why), which the dialog shows.
 */
export async function runJobAction(supabase: DatabaseClient, input: JobActionInput): Promise<JobActionOutcome[]> {
  const reason = reasonSchema.parse(input.reason);
  const { data, error } = await supabase.rpc(JOB_ACTION_RPC[input.action], { ids: input.ids, reason });
  if (error) throw new Error(error.message);
  return jobActionOutcomeSchema.array().parse(data);
}
