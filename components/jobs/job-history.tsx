'use client';

import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import { useJobHistory } from '@/lib/jobs/jobs-list-query';
import { useJobHistoryRealtime } from '@/lib/jobs/use-job-realtime';
import { ErrorPanel } from './error-panel';
import { JobStatusBadge } from './job-status-badge';

export function JobHistory({ userId }: { userId: string }) {
  const { data, isPending, error, refetch } = useJobHistory(userId);
  useJobHistoryRealtime(userId);
  if (isPending) return <div className="skeleton" style={{ height: '10rem' }} aria-label="Loading your jobs" />;
  if (error) return <ErrorPanel title="Your jobs could not be loaded" error={error} onRetry={() => void refetch()} />;
  if (data.length === 0) return <p className="muted">No jobs yet. Describe an image and press Generate.</p>;
  return (
    <ul className="job-list" aria-label="Job history">
      {data.map((job) => (
        <li key={job.id}>
          <Link href={`/jobs/${job.id}`} className="job-row">
            <span className="job-prompt">{job.prompt}</span>
            <span className="job-meta">
              <JobStatusBadge status={job.status} />
              {job.status === 'running' ? <span className="muted">{job.progress}%</span> : null}
              <span className="muted">
                <Timestamp iso={job.created_at} />
              </span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
