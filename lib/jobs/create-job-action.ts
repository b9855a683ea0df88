'use server';

import { headers } from 'next/headers';
import { createClient } from '@/lib/supabase/server';
import { JobActionError } from './create-job-mutation';
import { createJobSchema } from './create-job-schema';
import { createJobInTrace } from './create-job-in-trace';
import type { JobErrorView } from './job-errors';
import type { Job } from './job-schema';

/**
 * The new-job form's server action: the job's trace starts here (create-job-in-trace.ts), with
 * the user's own session, so create_job's checks and RLS are exactly those of a browser call.
 * The input is checked again: a server action is a public endpoint whatever the form did.
 * Errors come back as values (a thrown error's message does not survive a production build).
 */
export async function createJobAction(input: unknown): Promise<{ job: Job } | { error: JobErrorView }> {
  const parsed = createJobSchema.safeParse(input);
  if (!parsed.success) return { error: { kind: 'invalid', message: parsed.error.issues[0]?.message ?? 'Check the form' } };
  try {
    const incoming = (await headers()).get('traceparent');
    return { job: await createJobInTrace(await createClient(), parsed.data, incoming) };
  } catch (error) {
    if (error instanceof JobActionError) return { error: error.view };
    throw error;
  }
}
