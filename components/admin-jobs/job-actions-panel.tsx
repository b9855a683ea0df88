'use client';

import { useId, useState } from 'react';
import { actionAvailability, JOB_ACTIONS, JOB_ACTION_LABEL, type JobAction } from '@/lib/admin-jobs/job-actions';
import type { AppRole } from '@/lib/auth/roles';
import type { JobStatus } from '@/lib/jobs/job-schema';
import { JobActionDialog } from './job-action-dialog';

/**
 * The four actions for one job. Each is always listed, so staff learn what exists; one the state
 * or the role does not allow is disabled, with the reason next to it (and tied to the button
 * for screen readers).
 */
export function JobActionsPanel({ jobId, status, role, contentDeleted = false }: { jobId: string; status: JobStatus; role: AppRole; contentDeleted?: boolean }) {
  const [open, setOpen] = useState<JobAction | null>(null);
  const baseId = useId();
  return (
    <section className="card" aria-labelledby={`${baseId}-h`}>
      <h2 id={`${baseId}-h`}>Actions</h2>
      <div className="action-list">
        {JOB_ACTIONS.map((action) => {
          const availability = actionAvailability(action, status, role, contentDeleted);
          const whyId = `${baseId}-${action}`;
          return (
            <div key={action} className="action-item">
              <button
                type="button"
                disabled={!availability.allowed}
                aria-describedby={availability.allowed ? undefined : whyId}
                onClick={() => setOpen(action)}
              >
                {JOB_ACTION_LABEL[action]}
              </button>
              {!availability.allowed && (
                <span id={whyId} className="muted why">
                  {availability.why}
                </span>
              )}
            </div>
          );
        })}
      </div>
      {open && <JobActionDialog action={open} ids={[jobId]} onClose={() => setOpen(null)} />}
    </section>
  );
}
