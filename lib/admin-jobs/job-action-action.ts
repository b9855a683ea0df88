'use server';

import { z } from 'zod';
import { createClient } from '@/lib/supabase/server';
import { runJobActionInTrace } from './job-action-in-trace';
import { JOB_ACTIONS, type JobActionOutcome } from './job-actions';

const jobActionInputSchema = z.object({
  action: z.enum(JOB_ACTIONS),
  ids: z.array(z.uuid()).min(1, 'Select at least one job'),
  reason: z.string(),
});

/**
 * The console's job actions go through the server, where each becomes a trace linked to the
 * traces of the jobs it names (job-action-in-trace.ts). The staff member's own session calls the
 * function, so its role checks and audit are exactly those of a browser call. Errors come back
 * as values (a thrown error's message does not survive a production build).
 */
export async function jobActionAction(input: unknown): Promise<{ outcomes: JobActionOutcome[] } | { error: string }> {
  const parsed = jobActionInputSchema.safeParse(input);
  if (!parsed.success) return { error: parsed.error.issues[0]?.message ?? 'Check the action' };
  try {
    return { outcomes: await runJobActionInTrace(await createClient(), parsed.data) };
  } catch (error) {
    if (error instanceof z.ZodError) return { error: error.issues[0]?.message ?? 'Check the reason' };
    return { error: (error as Error).message };
  }
}
