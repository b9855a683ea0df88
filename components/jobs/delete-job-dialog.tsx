'use client';

import type { FormEvent } from 'react';
import { DialogFormFooter, ModalDialog } from '@/components/audit/modal-dialog';
import { JobActionError } from '@/lib/jobs/create-job-mutation';
import { useDeleteJobMutation } from '@/lib/jobs/delete-job-mutation';

/**
 * "Delete this job?": what goes and what stays, then the deletion. On success the owner unmounts
 * the dialog (the card leaves the gallery, the job page shows the job as deleted); a refusal
 * stays in the dialog, in words.
 */
export function DeleteJobDialog({ jobId, userId, prompt, onClose }: { jobId: string; userId: string; prompt: string; onClose: () => void }) {
  const deletion = useDeleteJobMutation(jobId, userId);
  const error = deletion.error instanceof JobActionError ? deletion.error.view.message : deletion.error?.message;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    deletion.mutate(undefined, { onSuccess: onClose });
  };
  return (
    <ModalDialog
      title="Delete this job?"
      description={
        <>
          <p className="prompt-text">{prompt}</p>
          <p>
            Its prompt and its image are erased for good, from every device you are signed in on. The credits it cost stay
            spent: your credit history keeps the charge.
          </p>
        </>
      }
      onClose={onClose}
    >
      {() => (
        <form onSubmit={submit} className="stack">
          <DialogFormFooter error={error} pending={deletion.isPending} submitLabel="Delete job" />
        </form>
      )}
    </ModalDialog>
  );
}
