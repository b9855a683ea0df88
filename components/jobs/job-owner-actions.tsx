'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { JobActionError } from '@/lib/jobs/create-job-mutation';
import { useGenerateAgainMutation } from '@/lib/jobs/generate-again-mutation';
import { useImageDownload } from '@/lib/jobs/image-download';
import { isTerminal, type Job } from '@/lib/jobs/job-schema';
import { DeleteJobDialog } from './delete-job-dialog';

const errorText = (error: Error | null) => (error instanceof JobActionError ? error.view.message : error?.message);

/**
 * What the owner can do with an ended job: download its image, generate it again (a new job,
 * charged like one from the form, whose page then opens), delete it. The database decides each
 * (delete_job, generate_again); the buttons offer only what it allows for the job's state.
 */
export function JobOwnerActions({ job }: { job: Job }) {
  const router = useRouter();
  const download = useImageDownload();
  const again = useGenerateAgainMutation(job.id);
  const [confirming, setConfirming] = useState(false);
  if (!isTerminal(job.status)) return null;
  const error = errorText(download.error) ?? errorText(again.error);
  return (
    <div className="stack">
      <div className="owner-actions">
        {job.status === 'succeeded' && job.result ? (
          <button type="button" onClick={() => download.mutate({ ...job, result: job.result! })} disabled={download.isPending}>
            {download.isPending ? 'Preparing…' : 'Download'}
          </button>
        ) : null}
        <button
          type="button"
          className="button-secondary"
          onClick={() => again.mutate(undefined, { onSuccess: (created) => router.push(`/jobs/${created.id}`) })}
          disabled={again.isPending}
        >
          {again.isPending ? 'Creating…' : 'Generate again'}
        </button>
        <button type="button" className="button-danger" onClick={() => setConfirming(true)}>
          Delete
        </button>
      </div>
      {error ? (
        <p role="alert" className="error-text">
          {error}
        </p>
      ) : null}
      {confirming ? <DeleteJobDialog jobId={job.id} userId={job.user_id} prompt={job.prompt} onClose={() => setConfirming(false)} /> : null}
    </div>
  );
}
