'use client';

import { useState } from 'react';
import { TableSkeleton } from '@/components/admin-jobs/table-paging';
import { fieldNumber, fieldText, FormDialog } from '@/components/alerts/form-dialog';
import { Timestamp } from '@/components/format/timestamp';
import { ErrorPanel } from '@/components/jobs/error-panel';
import type { AppRole } from '@/lib/auth/roles';
import { mayBeOff, useRetentionStatus, type RetentionPolicy, type RetentionTable } from '@/lib/retention/retention-status-query';
import { setWindowSchema, useSetRetentionWindow } from '@/lib/retention/set-window-mutation';
import '@/components/admin-jobs/admin-tables.css';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 1,234,567 bytes as "1.2 MB" (decimal units, as disks are sold). */
export function formatBytes(bytes: number): string {
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
  return bytes < 0 ? `−${text}` : text;
}

const count = new Intl.NumberFormat('en-US');

const KEPT_BECAUSE: Record<string, string> = {
  'public.jobs': 'kept: the gallery and accounting',
  'public.credit_ledger': 'kept: accounting',
  'public.audit_log': 'kept: the audit trail',
  'storage.objects': 'kept with their jobs',
  'public.alert_incidents': "kept: incidents' story",
};

/** The policy that may expire Storage's rows (the results bucket's images and thumbnails). */
const RESULT_IMAGES = 'result_images';

/** What happens to a table's rows, in words: from the windows as they are set, not as they were designed. */
function fate(table: RetentionTable, policies: Map<string, RetentionPolicy>): string {
  const images = policies.get(RESULT_IMAGES);
  if (table.relation === 'storage.objects' && images && images.keep_days !== null) {
    return `${windowText(images)}, then the images expire (their jobs are kept)`;
  }
  if (table.kind === 'kept') return KEPT_BECAUSE[table.relation] ?? 'kept';
  if (table.kind === 'realtime') return 'daily partitions, dropped by Realtime';
  const policy = policies.get(table.kind);
  return policy ? `${windowText(policy)} (${policy.label.toLowerCase()})` : table.kind;
}

/** "21 days", or "for ever (off)" for a window that is off. */
const windowText = (policy: RetentionPolicy) => (policy.keep_days === null ? 'for ever (off)' : `${policy.keep_days} days`);

function growth(perDay: number | null, format: (n: number) => string): string {
  if (perDay === null) return 'measuring';
  return `${perDay > 0 ? '+' : ''}${format(perDay)} a day`;
}

/**
 * The data life cycle: every table's size, rows, oldest row and growth, each kind's window and
 * its last prune. Admins change a window (with a reason); support reads.
 */
export function RetentionOverview({ role }: { role: AppRole }) {
  const status = useRetentionStatus();
  const [editing, setEditing] = useState<RetentionPolicy | null>(null);
  if (status.isPending) return <TableSkeleton rows={8} label="Loading the tables" />;
  if (status.isError) return <ErrorPanel title="The tables could not be measured" error={status.error} onRetry={() => void status.refetch()} />;
  const policies = new Map(status.data.policies.map((p) => [p.kind, p]));
  return (
    <div className="stack">
      <section aria-labelledby="retention-tables" className="stack">
        <h2 id="retention-tables">Tables</h2>
        <div className="card table-scroll">
          <table className="data-table" aria-label="Tables">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Kept</th>
                <th scope="col">Size</th>
                <th scope="col">Rows</th>
                <th scope="col">Oldest row</th>
                <th scope="col">Growth</th>
              </tr>
            </thead>
            <tbody>
              {status.data.tables.map((t) => (
                <tr key={t.relation}>
                  <th scope="row" className="mono">
                    {t.relation}
                  </th>
                  <td>{fate(t, policies)}</td>
                  <td>{formatBytes(t.bytes)}</td>
                  <td>{count.format(t.rows)}</td>
                  <td>
                    <Timestamp iso={t.oldest} />
                  </td>
                  <td>
                    {growth(t.bytes_per_day, formatBytes)}
                    {t.rows_per_day !== null && <div className="muted">{growth(t.rows_per_day, (n) => `${count.format(n)} rows`)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="muted">
          Rows are the planner&apos;s estimate for large tables. Growth compares the sizes sampled by the prune pass about a day apart.
        </p>
      </section>
      <section aria-labelledby="retention-windows" className="stack">
        <h2 id="retention-windows">Windows</h2>
        <div className="card table-scroll">
          <table className="data-table" aria-label="Retention windows">
            <thead>
              <tr>
                <th scope="col">Data</th>
                <th scope="col">Kept for</th>
                <th scope="col">Allowed</th>
                <th scope="col">Last prune</th>
                {role === 'admin' && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {status.data.policies.map((p) => (
                <tr key={p.kind}>
                  <th scope="row">
                    {p.label}
                    <div className="mono muted">{p.kind}</div>
                  </th>
                  <td>
                    {windowText(p)}
                    {p.keep_days !== p.default_days && <div className="muted">default {p.default_days === null ? 'off' : p.default_days}</div>}
                  </td>
                  <td>
                    {p.min_days}–{p.max_days} days
                  </td>
                  <td>
                    {p.last_pruned_at ? (
                      <>
                        <Timestamp iso={p.last_pruned_at} />
                        <div className="muted">
                          {p.last_prune_error ??
                            `${count.format(p.last_prune_rows ?? 0)} ${p.kind === 'result_images' ? 'jobs' : 'rows'} in ${Math.round(p.last_prune_ms ?? 0)} ms`}
                        </div>
                      </>
                    ) : (
                      'not yet'
                    )}
                  </td>
                  {role === 'admin' && (
                    <td>
                      <button type="button" aria-label={`Change the window: ${p.label}`} onClick={() => setEditing(p)}>
                        Change
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {editing && <WindowDialog policy={editing} onClose={() => setEditing(null)} />}
    </div>
  );
}

function WindowDialog({ policy, onClose }: { policy: RetentionPolicy; onClose: () => void }) {
  const mutation = useSetRetentionWindow();
  const [invalid, setInvalid] = useState<string | null>(null);
  const submit = (data: FormData) => {
    const days = fieldNumber(data, 'days');
    // An empty field turns off a window that may be off; for any other it is a missing number.
    const parsed = setWindowSchema.safeParse({
      kind: policy.kind,
      days: days === undefined && mayBeOff(policy) ? null : days,
      reason: fieldText(data, 'reason') ?? '',
    });
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'Check the values');
      return;
    }
    setInvalid(null);
    mutation.mutate(parsed.data);
  };
  return (
    <FormDialog
      title={`Window: ${policy.label}`}
      description={
        mayBeOff(policy)
          ? `Images of jobs that finished longer ago than this are removed by the next prune pass (every 10 minutes); the job stays and says its image expired. Allowed: ${policy.min_days} to ${policy.max_days} days, or empty to keep them for ever (off).`
          : `Rows older than this are removed by the next prune pass (every 10 minutes). Allowed: ${policy.min_days} to ${policy.max_days} days.`
      }
      submitLabel="Save"
      pending={mutation.isPending}
      error={invalid ?? mutation.error?.message ?? null}
      done={mutation.isSuccess ? <p className="notice notice-ok" role="status">Saved. The next prune pass uses it.</p> : undefined}
      onSubmit={submit}
      onClose={onClose}
    >
      <label htmlFor="retention-days">Keep for (days)</label>
      <input
        id="retention-days"
        name="days"
        type="number"
        step={1}
        defaultValue={policy.keep_days ?? undefined}
        required={!mayBeOff(policy)}
        placeholder={mayBeOff(policy) ? 'off' : undefined}
      />
    </FormDialog>
  );
}
