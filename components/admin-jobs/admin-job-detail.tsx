'use client';

import { Timestamp } from '@/components/format/timestamp';
import Link from 'next/link';
import { AuditEntryList } from '@/components/audit/audit-entry-list';
import { TableScroll } from '@/components/tables/table-scroll';
import { LedgerTable } from '@/components/users/ledger-table';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { JobStatusBadge } from '@/components/jobs/job-status-badge';
import { LiveStatus } from '@/components/health/live-status';
import { useAdminJob } from '@/lib/admin-jobs/admin-job-query';
import { prunedRecords, useJobRecords, type JobRecords } from '@/lib/admin-jobs/job-records-query';
import { useAdminJobLive } from '@/lib/admin-jobs/use-admin-jobs-live';
import type { AppRole } from '@/lib/auth/roles';
import { useResultUrl } from '@/lib/jobs/result-url-query';
import { JobActionsPanel } from './job-actions-panel';
import { JobWaterfall } from './job-waterfall';
import './admin-tables.css';


/** Everything about one job for staff: the row, the actions, the result, the timeline, calls, ledger and audit. */
export function AdminJobDetail({ jobId, role, traceUrlTemplate }: { jobId: string; role: AppRole; traceUrlTemplate?: string }) {
  const job = useAdminJob(jobId);
  const records = useJobRecords(jobId);
  const live = useAdminJobLive(jobId, job.data?.user_id);
  const image = useResultUrl(jobId, job.data?.status === 'succeeded' && !job.data.content_deleted_at ? (job.data.result ?? null) : null);

  if (job.isPending) return <div className="skeleton" style={{ height: '20rem' }} aria-busy="true" aria-label="Loading the job" />;
  if (job.isError) return <ErrorPanel title="This job could not be loaded" error={job.error} onRetry={() => void job.refetch()} />;
  const j = job.data;
  if (!j) return <p className="card">This job no longer exists.</p>;

  return (
    <div className="stack">
      <div className="row spread">
        <h1>
          Job <span className="mono">{j.id}</span>
        </h1>
        <LiveStatus status={live.status} />
      </div>
      <div className="section-grid">
        <section className="card" aria-label="Job facts">
          <p>
            <JobStatusBadge status={j.status} />
            {j.status === 'running' && ` · ${j.stage ?? ''} ${j.progress}%`}
          </p>
          {j.content_deleted_at && (
            <p className="notice" role="status">
              Its owner deleted this job&apos;s content on <Timestamp iso={j.content_deleted_at} />: the prompt, options and
              images are erased; the job, its timeline, ledger and audit entries stay as the record.
            </p>
          )}
          <dl className="facts">
            <dt>Prompt</dt>
            <dd>{j.content_deleted_at ? <span className="muted">deleted</span> : j.prompt}</dd>
            <dt>User</dt>
            <dd>
              <Link href={`/admin/users/${j.user_id}`} className="mono">
                {j.user_id}
              </Link>
            </dd>
            <dt>Model</dt>
            <dd>{j.model_id}</dd>
            <dt>Attempt</dt>
            <dd>
              {j.attempt} of {j.max_attempts}
            </dd>
            <dt>Credits</dt>
            <dd>
              {j.credits_cost} (charge #{j.charge_seq})
            </dd>
            <dt>Worker</dt>
            <dd className="mono">{j.worker_id ?? '—'}</dd>
            <dt>Lease until</dt>
            <dd><Timestamp iso={j.lease_expires_at} /></dd>
            <dt>Created</dt>
            <dd><Timestamp iso={j.created_at} /></dd>
            <dt>Deadline</dt>
            <dd><Timestamp iso={j.deadline_at} /></dd>
            <dt>Finished</dt>
            <dd><Timestamp iso={j.finished_at} /></dd>
            {j.error_class && (
              <>
                <dt>Error</dt>
                <dd className="error-text">
                  {j.error_class}: {j.error_message}
                </dd>
              </>
            )}
          </dl>
        </section>
        <div className="stack">
          <JobActionsPanel jobId={j.id} status={j.status} role={role} contentDeleted={j.content_deleted_at !== null} />
          {j.status === 'succeeded' && !j.content_deleted_at && (
            <section className="card" aria-label="Result">
              <h2>Result</h2>
              {j.image_expired_at ? (
                <p className="muted" data-testid="image-expired">
                  Image expired on <Timestamp iso={j.image_expired_at} /> (the result-image retention window): its objects are
                  erased; the job, its timeline, ledger and audit entries stay.
                </p>
              ) : image.data ? (
                // eslint-disable-next-line @next/next/no-img-element -- a signed URL from Storage, not a static asset
                <img src={image.data} alt={`Generated image: ${j.prompt}`} className="result-image" />
              ) : image.isError ? (
                <p className="error-text">The image could not be loaded: {image.error.message}</p>
              ) : (
                <div className="skeleton" style={{ height: '12rem' }} aria-label="Loading the image" />
              )}
            </section>
          )}
        </div>
      </div>
      {records.isPending ? (
        <div className="skeleton" style={{ height: '12rem' }} aria-busy="true" aria-label="Loading the timeline" />
      ) : records.isError ? (
        <ErrorPanel title="The job's history could not be loaded" error={records.error} onRetry={() => void records.refetch()} />
      ) : (
        <>
          <JobWaterfall events={records.data.events} calls={records.data.calls} traceparent={j.traceparent} latest={j.updated_at} traceUrlTemplate={traceUrlTemplate} />
          <JobRecordsView records={records.data} errors={j.errors} pruned={prunedRecords(j, records.data)} />
        </>
      )}
    </div>
  );
}

function JobRecordsView({
  records,
  errors,
  pruned,
}: {
  records: JobRecords;
  errors: Record<string, unknown>[];
  pruned: ReturnType<typeof prunedRecords>;
}) {
  return (
    <>
      <section className="card" aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        {pruned.timeline !== null && (
          <p className="muted">
            This job&apos;s timeline was removed: timelines are kept for {pruned.timeline} days (
            <Link href="/admin/retention">data retention</Link>). Its status, charge and refunds below are kept.
          </p>
        )}
        {records.events.length > 0 && (
          <ol className="timeline" aria-label="Timeline">
            {records.events.map((e) => (
              <li key={e.id}>
                <strong><Timestamp iso={e.at} /></strong> {e.from_status ? `${e.from_status} → ${e.to_status}` : `created ${e.to_status}`} · attempt {e.attempt} · by {e.actor_role}
                {typeof e.detail.reason === 'string' && <> · reason: “{e.detail.reason}”</>}
                {typeof e.detail.error_class === 'string' && (
                  <span className="error-text">
                    {' '}
                    · {e.detail.error_class}
                    {typeof e.detail.error === 'string' ? `: ${e.detail.error}` : ''}
                  </span>
                )}
                {typeof e.detail.worker_id === 'string' && <span className="muted"> · {e.detail.worker_id}</span>}
              </li>
            ))}
          </ol>
        )}
        {errors.length > 0 && (
          <>
            <h3>Failed attempts</h3>
            <ul>
              {errors.map((err, i) => (
                <li key={i}>
                  attempt {String(err.attempt ?? '?')}: {String(err.error_class ?? '')} {String(err.message ?? '')}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      <section className="card" aria-labelledby="calls-h">
        <h2 id="calls-h">Gemini calls</h2>
        {pruned.calls !== null ? (
          <p className="muted">
            This job&apos;s call records were removed: they are kept for {pruned.calls} days (
            <Link href="/admin/retention">data retention</Link>). Its latency and cost stay in System Health&apos;s rollups.
          </p>
        ) : records.calls.length === 0 ? (
          <p className="muted">No calls made yet.</p>
        ) : (
          <TableScroll label="Gemini calls">
            <table className="data-table" aria-label="Gemini calls">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Model</th>
                  <th scope="col">Latency</th>
                  <th scope="col">HTTP</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Retry after</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {records.calls.map((c) => (
                  <tr key={c.id}>
                    <td><Timestamp iso={c.started_at} /></td>
                    <td>{c.attempt ?? '—'}</td>
                    <td>{c.model_id}</td>
                    <td>{c.duration_ms.toLocaleString('en-US')} ms</td>
                    <td>{c.http_status ?? '—'}</td>
                    <td className={c.outcome === 'ok' ? undefined : 'error-text'}>{c.outcome}</td>
                    <td>{c.retry_after_ms === null ? '—' : `${c.retry_after_ms} ms`}</td>
                    <td>${c.cost_usd.toFixed(4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section className="card" aria-labelledby="ledger-h">
        <h2 id="ledger-h">Credits ledger</h2>
        <TableScroll label="Credits ledger">
          <LedgerTable entries={records.ledger} column="charge" />
        </TableScroll>
      </section>
      <section className="card" aria-labelledby="audit-h">
        <h2 id="audit-h">Audit</h2>
        <AuditEntryList entries={records.audit} emptyText="No staff action on this job yet." />
      </section>
    </>
  );
}
