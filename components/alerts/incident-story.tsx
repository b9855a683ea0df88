'use client';

import Link from 'next/link';
import { useState } from 'react';
import { ReasonDialog } from '@/components/audit/reason-dialog';
import { IncidentValueChart } from '@/components/charts/incident-value-chart';
import { Timestamp } from '@/components/format/timestamp';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { TableScroll } from '@/components/tables/table-scroll';
import type { IncidentEvent } from '@/lib/alerts/alert-schemas';
import { INCIDENT_ACTIONS, useIncidentAction, type IncidentAction } from '@/lib/alerts/incident-actions';
import { useIncident, type IncidentStory as Story } from '@/lib/alerts/incident-query';
import { useAlertsLive } from '@/lib/alerts/use-alerts-live';
import type { AppRole } from '@/lib/auth/roles';
import { DeliveryTable } from './delivery-table';
import { SeverityBadge } from './severity-badge';

/** One incident's story, live: the rule and its value over time, what happened, who was told. */
export function IncidentStory({ incidentId, role }: { incidentId: number; role: AppRole }) {
  const story = useIncident(incidentId);
  useAlertsLive({ incidentId });
  const action = useIncidentAction();
  const [pending, setPending] = useState<IncidentAction | null>(null);

  if (story.isPending) return <div className="skeleton" style={{ height: '20rem' }} aria-busy="true" aria-label="Loading the incident" />;
  if (story.isError) return <ErrorPanel title="This incident could not be loaded" error={story.error} onRetry={() => void story.refetch()} />;
  if (!story.data) return <p className="card">This incident no longer exists.</p>;
  const { incident } = story.data;

  const actions: IncidentAction[] = role !== 'admin' ? [] : incident.status === 'open' && !incident.acknowledged_at ? ['acknowledge', 'note'] : ['note'];
  return (
    <div className="stack">
      <IncidentStoryView story={story.data} />
      {actions.length > 0 && (
        <div className="row" role="group" aria-label="Incident actions">
          {actions.map((a) => (
            <button
              key={a}
              type="button"
              onClick={() => {
                action.reset();
                setPending(a);
              }}
            >
              {INCIDENT_ACTIONS[a].label}
            </button>
          ))}
        </div>
      )}
      {pending && (
        <ReasonDialog
          title={`${INCIDENT_ACTIONS[pending].label}: ${incident.title}`}
          description={INCIDENT_ACTIONS[pending].effect}
          confirmLabel={INCIDENT_ACTIONS[pending].label}
          text={INCIDENT_ACTIONS[pending].text}
          pending={action.isPending}
          error={action.error?.message ?? null}
          result={action.isSuccess ? <p className="notice notice-ok" role="status">Done.</p> : undefined}
          onConfirm={(text) => action.mutate({ action: pending, incidentId, text })}
          onClose={() => setPending(null)}
        />
      )}
    </div>
  );
}

/** What each timeline entry says (values of every evaluation are in the chart instead). */
function describe(event: IncidentEvent, story: Story): string {
  const value = event.value_text ?? '';
  switch (event.kind) {
    case 'opened':
      return `Opened at ${value}${event.note ? ` (${event.note})` : ''}`;
    case 'cleared':
      return `Condition clear (${value}); resolves if it stays clear for ${story.rule.hold_down_minutes} min`;
    case 'firing_again':
      return `Firing again at ${value}`;
    case 'resolved':
      return `Resolved (${value})`;
    case 'acknowledged':
      return `Acknowledged by ${event.actor_role}: ${event.note ?? ''}`;
    case 'note':
      return `Note by ${event.actor_role}: ${event.note ?? ''}`;
    case 'value':
      return value;
  }
}

export function IncidentStoryView({ story }: { story: Story }) {
  const { incident, rule, events, deliveries } = story;
  const models = [...new Set([incident.subject, incident.detail.model_id, ...(incident.detail.model_ids ?? [])].filter((m): m is string => Boolean(m)))];
  const jobs = incident.detail.job_ids ?? [];
  const points = events.filter((e) => e.kind !== 'acknowledged' && e.kind !== 'note').map((e) => ({ at: e.at, value: e.value, text: e.value_text ?? '' }));
  return (
    <div className="stack">
      <div className="row spread">
        <h1>{incident.title}</h1>
        <span>
          <SeverityBadge severity={incident.severity} />{' '}
          <span className={`incident-status incident-status-${incident.status}`}>
            {incident.status === 'open' ? (incident.acknowledged_at ? 'Open, acknowledged' : 'Open') : 'Resolved'}
          </span>
        </span>
      </div>
      <p>{incident.summary}</p>
      <div className="section-grid">
        <section className="card" aria-label="Incident facts">
          <dl className="facts">
            <dt>Rule</dt>
            <dd>
              {rule.name} <span className="muted">({rule.description})</span>
            </dd>
            <dt>Threshold</dt>
            <dd>{incident.threshold_text}</dd>
            <dt>Latest value</dt>
            <dd>{incident.value_text}</dd>
            <dt>Worst value</dt>
            <dd>{incident.peak_value_text}</dd>
            <dt>Opened</dt>
            <dd>
              <Timestamp iso={incident.opened_at} />
            </dd>
            <dt>{incident.status === 'resolved' ? 'Resolved' : 'Clear since'}</dt>
            <dd>
              <Timestamp iso={incident.resolved_at ?? incident.clear_since} empty={incident.status === 'open' ? 'still firing' : '—'} />
            </dd>
            <dt>Messages</dt>
            <dd>{incident.notify ? `${deliveries.length} sent or queued` : 'none: the rule was silenced when it opened'}</dd>
            {models.length > 0 && (
              <>
                <dt>Models</dt>
                <dd>
                  {models.map((m, i) => (
                    <span key={m}>
                      {i > 0 && ', '}
                      <Link href={`/admin/jobs?model=${encodeURIComponent(m)}`} className="mono">
                        {m}
                      </Link>
                    </span>
                  ))}
                </dd>
              </>
            )}
            {jobs.length > 0 && (
              <>
                <dt>Jobs</dt>
                <dd>
                  <ul className="plain-list" aria-label="Jobs involved">
                    {jobs.map((id) => (
                      <li key={id}>
                        <Link href={`/admin/jobs/${id}`} className="mono">
                          {id}
                        </Link>
                      </li>
                    ))}
                  </ul>
                </dd>
              </>
            )}
          </dl>
        </section>
        <IncidentValueChart points={points} threshold={incident.threshold} thresholdText={incident.threshold_text} />
      </div>
      <section className="card" aria-labelledby="incident-timeline">
        <h2 id="incident-timeline">Timeline</h2>
        <ol className="timeline" aria-label="Timeline">
          {events
            .filter((e) => e.kind !== 'value')
            .map((e) => (
              <li key={e.id}>
                <Timestamp iso={e.at} /> · {describe(e, story)}
              </li>
            ))}
        </ol>
      </section>
      <section className="card" aria-labelledby="incident-messages">
        <h2 id="incident-messages">Messages</h2>
        {deliveries.length === 0 ? (
          <p className="muted">No channel was sent anything for this incident.</p>
        ) : (
          <TableScroll label="Messages for this incident">
            <DeliveryTable deliveries={deliveries} label="Messages for this incident" showIncident={false} />
          </TableScroll>
        )}
      </section>
    </div>
  );
}
