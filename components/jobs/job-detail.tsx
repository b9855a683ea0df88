'use client';

import Link from 'next/link';
import { Fact } from '@/components/format/fact';
import { Timestamp } from '@/components/format/timestamp';
import { useJobRefund } from '@/lib/credits/job-refund-query';
import { useCancelJobMutation } from '@/lib/jobs/cancel-job-mutation';
import { JobActionError } from '@/lib/jobs/create-job-mutation';
import { useJob } from '@/lib/jobs/job-query';
import { useResultUrl } from '@/lib/jobs/result-url-query';
import { DELETED_STAGE, type Job } from '@/lib/jobs/job-schema';
import { ErrorPanel } from './error-panel';
import { JobOwnerActions } from './job-owner-actions';
import { JobProgress } from './job-progress';
import { JobQueueStatus } from './job-queue-status';
import { JobStatusBadge } from './job-status-badge';

/** What the job is doing, in words a user understands. */
function describeStage(job: Job): string {
  switch (job.status) {
    case 'queued':
      if (Date.parse(job.run_at) > Date.now()) return `Waiting to retry (attempt ${job.attempt + 1} of ${job.max_attempts})`;
      return 'Waiting for a worker';
    case 'running':
      return job.stage ? capitalise(job.stage) : 'Starting';
    case 'succeeded':
      return 'Done';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function JobDetail({ jobId }: { jobId: string }) {
  const { data: job, error, refetch } = useJob(jobId);
  const ended = job?.status === 'failed' || job?.status === 'cancelled';
  const refund = useJobRefund(jobId, ended);
  // A deletion shows at once from the live message (stage 'deleted'); the refetch it triggers brings the time.
  const deletedAt = job?.content_deleted_at ?? (job?.stage === DELETED_STAGE ? job.updated_at : null);
  const resultUrl = useResultUrl(jobId, job?.status === 'succeeded' && !deletedAt ? job.result : null);
  const cancel = useCancelJobMutation(jobId);

  if (error) return <ErrorPanel title="This job could not be loaded" error={error} onRetry={() => void refetch()} />;
  // The page renders only after the server found the job; null here means it vanished since.
  if (!job) return <p role="status">This job is no longer available.</p>;

  if (deletedAt) {
    return (
      <article className="card stack" aria-labelledby="job-heading">
        <header className="row spread">
          <h1 id="job-heading">Job deleted</h1>
          <JobStatusBadge status={job.status} />
        </header>
        <p role="status">
          You deleted this job on <Timestamp iso={deletedAt} />: its prompt and its image are gone. Your credit history
          keeps what it cost.
        </p>
        <p>
          <Link href="/jobs">Back to your jobs</Link>
        </p>
      </article>
    );
  }

  const progress = job.status === 'succeeded' ? 100 : job.progress;
  const stage = describeStage(job);
  const cancelMessage =
    cancel.error instanceof JobActionError ? cancel.error.view.message : cancel.error?.message ?? (cancel.data?.outcome === 'skipped' ? cancel.data.message : null);

  return (
    <article className="card stack" aria-labelledby="job-heading">
      <header className="row spread">
        <h1 id="job-heading">Job</h1>
        <JobStatusBadge status={job.status} />
      </header>
      <p className="prompt-text">{job.prompt}</p>
      <dl className="facts">
        <dt>Model</dt>
        <dd>{job.model_id}</dd>
        <dt>Cost</dt>
        <dd>
          {job.credits_cost} credit{job.credits_cost === 1 ? '' : 's'}
        </dd>
        <Fact term="Stage" live>
          {stage}
        </Fact>
      </dl>
      <JobProgress value={progress} label={stage} />
      <JobQueueStatus job={job} />

      {job.status === 'queued' ? (
        <div className="stack">
          <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            {cancel.isPending ? 'Cancelling…' : 'Cancel job'}
          </button>
          {cancelMessage ? (
            <p role="alert" className="error-text">
              {capitalise(cancelMessage)}
            </p>
          ) : null}
        </div>
      ) : null}

      {/* The actions before the image: a 1K image fills a laptop's screen, and they stay in view. */}
      <JobOwnerActions job={job} />

      {job.status === 'succeeded' && job.image_expired_at ? (
        <p className="notice" role="status">
          Image expired on <Timestamp iso={job.image_expired_at} />: images are kept for a limited time. Generate again makes a new one from the
          same prompt.
        </p>
      ) : job.status === 'succeeded' ? (
        resultUrl.data ? (
          // eslint-disable-next-line @next/next/no-img-element -- a signed URL on the API host, not a static asset
          <img src={resultUrl.data} alt={`Generated image: ${job.prompt}`} className="result-image" width={job.result?.width ?? undefined} height={job.result?.height ?? undefined} />
        ) : resultUrl.isError ? (
          <ErrorPanel title="The image could not be loaded" error={resultUrl.error} onRetry={() => void resultUrl.refetch()} />
        ) : (
          <div className="skeleton result-image" aria-label="Loading the image" style={{ height: '16rem' }} />
        )
      ) : null}

      {job.status === 'failed' ? (
        <div className="notice notice-error" role="status">
          <p>
            <strong>Why it failed:</strong> {job.error_message ?? job.error_class ?? 'unknown error'}
          </p>
        </div>
      ) : null}
      {ended && refund.data ? (
        <p className="notice notice-ok" role="status">
          {refund.data} credit{refund.data === 1 ? '' : 's'} refunded
        </p>
      ) : null}
    </article>
  );
}
