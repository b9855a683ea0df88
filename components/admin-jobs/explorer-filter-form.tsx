'use client';

import { useModels } from '@/lib/models/models-query';
import { JOB_STATUSES } from '@/lib/jobs/job-schema';
import type { ExplorerFilters } from '@/lib/admin-jobs/explorer-filters';
import { fromLocalInput, toLocalInput } from './local-datetime';

/**
 * The explorer's filters as a plain form: Enter or "Apply" writes them to the URL, so every
 * filtered view is a link and the back button returns to the previous one.
 */
export function ExplorerFilterForm({ filters, onApply }: { filters: ExplorerFilters; onApply: (next: ExplorerFilters) => void }) {
  const models = useModels();
  const submit = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    const date = (name: string) => fromLocalInput(text(name));
    onApply({
      status: JOB_STATUSES.filter((s) => form.getAll('status').includes(s)),
      model: text('model'),
      user: text('user'),
      from: date('from'),
      to: date('to'),
      error: text('error'),
      q: text('q'),
      page: 1,
    });
  };
  // Keyed by the filters: the form shows what the URL says after back/forward.
  const key = JSON.stringify(filters);
  return (
    <form key={key} className="card filter-bar" onSubmit={submit} aria-label="Job filters" role="search">
      <fieldset>
        <legend className="muted">Status</legend>
        {JOB_STATUSES.map((status) => (
          <label key={status}>
            <input type="checkbox" name="status" value={status} defaultChecked={filters.status.includes(status)} />
            {status}
          </label>
        ))}
      </fieldset>
      <div>
        <label htmlFor="f-q">Job id or prompt</label>
        <input id="f-q" name="q" type="search" defaultValue={filters.q ?? ''} maxLength={200} />
      </div>
      <div>
        <label htmlFor="f-model">Model</label>
        <select id="f-model" name="model" defaultValue={filters.model ?? ''}>
          <option value="">Any model</option>
          {models.data?.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id}
            </option>
          ))}
          {filters.model && !models.data?.some((m) => m.id === filters.model) && <option value={filters.model}>{filters.model}</option>}
        </select>
      </div>
      <div>
        <label htmlFor="f-user">User id</label>
        <input id="f-user" name="user" defaultValue={filters.user ?? ''} placeholder="uuid" />
      </div>
      <div>
        <label htmlFor="f-error">Error class</label>
        <input id="f-error" name="error" defaultValue={filters.error ?? ''} placeholder="e.g. timeout" />
      </div>
      <div>
        <label htmlFor="f-from">Created from</label>
        <input id="f-from" name="from" type="datetime-local" defaultValue={toLocalInput(filters.from)} />
      </div>
      <div>
        <label htmlFor="f-to">Created before</label>
        <input id="f-to" name="to" type="datetime-local" defaultValue={toLocalInput(filters.to)} />
      </div>
      <div className="row">
        <button type="submit">Apply filters</button>
      </div>
    </form>
  );
}
