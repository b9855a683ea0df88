import { z } from 'zod';
import type { AppRole } from '@/lib/auth/roles';
import type { JobStatus } from '@/lib/jobs/job-schema';
import type { Database } from '@/lib/supabase/database';

export const JOB_ACTIONS = ['retry', 'requeue', 'cancel', 'fail_and_refund'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const JOB_ACTION_RPC = {
  retry: 'retry_jobs',
  requeue: 'requeue_jobs',
  cancel: 'cancel_jobs',
  fail_and_refund: 'fail_and_refund_jobs',
} as const satisfies Record<JobAction, keyof Database['public']['Functions']>;

export const JOB_ACTION_LABEL: Record<JobAction, string> = {
  retry: 'Retry',
  requeue: 'Requeue',
  cancel: 'Cancel',
  fail_and_refund: 'Fail and refund',
};

const JOB_ACTION_DONE: Record<JobAction, string> = {
  retry: 'retried',
  requeue: 'requeued',
  cancel: 'cancelled',
  fail_and_refund: 'failed and refunded',
};

export const JOB_ACTION_EFFECT: Record<JobAction, string> = {
  retry: 'Queues the job again and charges its credits again (it was refunded when it ended).',
  requeue: 'Takes the job from its worker and puts it back in the queue; the worker is fenced out.',
  cancel: 'Stops the job and refunds its credits.',
  fail_and_refund: 'Marks the job failed and refunds its credits, once.',
};

/**
 * The rules of private.apply_job_action (20261123000700_staff_actions_and_audit.sql), mirrored
 * so the console disables what the database would refuse and says why. The database still
 * decides: these only shape the UI.
 */
const ALLOWED_ROLES: Record<JobAction, readonly AppRole[]> = {
  retry: ['admin'],
  requeue: ['admin'],
  cancel: ['admin'],
  fail_and_refund: ['support', 'admin'],
};
const ALLOWED_FROM: Record<JobAction, readonly JobStatus[]> = {
  retry: ['failed', 'cancelled'],
  requeue: ['running'],
  cancel: ['queued', 'running'],
  fail_and_refund: ['queued', 'running'],
};

export type ActionAvailability = { allowed: true } | { allowed: false; why: string };

export function roleMayRun(action: JobAction, role: AppRole): boolean {
  return ALLOWED_ROLES[action].includes(role);
}

export function actionAvailability(action: JobAction, status: JobStatus, role: AppRole, contentDeleted = false): ActionAvailability {
  if (!roleMayRun(action, role)) return { allowed: false, why: `Only an admin can ${JOB_ACTION_LABEL[action].toLowerCase()} jobs` };
  if (contentDeleted) return { allowed: false, why: 'Its owner deleted this job' };
  if (!ALLOWED_FROM[action].includes(status)) {
    const from = ALLOWED_FROM[action].join(' or ');
    return { allowed: false, why: `Only ${from} jobs can be ${JOB_ACTION_DONE[action]}; this one is ${status}` };
  }
  return { allowed: true };
}

/** One row per distinct id, as the SQL functions return them. */
export const jobActionOutcomeSchema = z.object({
  job_id: z.uuid(),
  outcome: z.enum(['done', 'skipped', 'not_found']),
  status: z.string().nullable(),
  message: z.string().nullable(),
});
export type JobActionOutcome = z.infer<typeof jobActionOutcomeSchema>;
