'use client';

import Link from 'next/link';
import { ReasonDialog } from '@/components/audit/reason-dialog';
import { JOB_ACTION_EFFECT, JOB_ACTION_LABEL, type JobAction } from '@/lib/admin-jobs/job-actions';
import { useJobActionMutation } from '@/lib/admin-jobs/use-job-action-mutation';

/**
 * Confirms a retry / requeue / cancel / fail-and-refund of one or many jobs with a reason, then
 * shows what happened to each: n done, m skipped with why (a job may have moved on since the
 * page was drawn; the database decides, per job).
 */
export function JobActionDialog({ action, ids, onClose }: { action: JobAction; ids: string[]; onClose: () => void }) {
  const mutation = useJobActionMutation();
  const outcomes = mutation.data;
  const label = JOB_ACTION_LABEL[action];
  const noun = ids.length === 1 ? 'this job' : `${ids.length} jobs`;
  const done = outcomes?.filter((o) => o.outcome === 'done') ?? [];
  const notDone = outcomes?.filter((o) => o.outcome !== 'done') ?? [];

  return (
    <ReasonDialog
      title={`${label} ${noun}?`}
      description={JOB_ACTION_EFFECT[action]}
      confirmLabel={`${label} ${noun}`}
      pending={mutation.isPending}
      error={mutation.error?.message ?? null}
      onConfirm={(reason) => mutation.mutate({ action, ids, reason })}
      onClose={onClose}
      result={
        outcomes && (
          <div role="status" className="stack">
            <p className={done.length ? 'notice notice-ok' : 'notice'}>
              {done.length} done{notDone.length ? `, ${notDone.length} skipped` : ''}
            </p>
            {notDone.length > 0 && (
              <ul aria-label="Skipped jobs">
                {notDone.map((o) => (
                  <li key={o.job_id}>
                    <Link href={`/admin/jobs/${o.job_id}`}>{o.job_id.slice(0, 8)}</Link>: {o.message ?? o.outcome}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )
      }
    />
  );
}
