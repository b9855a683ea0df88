import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderToStaticMarkup } from 'react-dom/server';
import type { AlertDelivery, AlertRule, Incident } from '../../lib/alerts/alert-schemas.ts';
import { AlertRulesTableView } from './alert-rules-table.tsx';
import { DeliveryTable } from './delivery-table.tsx';
import { IncidentBannerView } from './incident-banner.tsx';
import { IncidentListView } from './incident-list.tsx';

/**
 * What the alerting views render for given data (static markup, no browser): the banner's
 * wording and link, the incident list's sections, the rules table's actions by role, and the
 * delivery table's states. The live behaviour is the e2e journey's.
 */
const incident = (id: number, overrides: Partial<Incident> = {}): Incident => ({
  id,
  rule_id: 'model_failure_rate',
  subject: 'gemini-2.5-flash-image',
  status: 'open',
  severity: 'critical',
  title: 'Job failure rate of a model: gemini-2.5-flash-image',
  summary: '75% of 40 finished jobs failed in the last 5 min (threshold 10%)',
  unit: 'percent',
  threshold: 10,
  threshold_text: '10%',
  value: 75,
  value_text: '75%',
  notify: true,
  opened_at: '2026-12-06T10:00:00Z',
  clear_since: null,
  resolved_at: null,
  acknowledged_at: null,
  updated_at: '2026-12-06T10:00:00Z',
  ...overrides,
});

const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/&#x27;/g, "'");

describe('incident banner', () => {
  test('renders nothing without an open incident', () => {
    assert.equal(renderToStaticMarkup(<IncidentBannerView incidents={[]} />), '');
  });

  test('one incident: its severity, title and sentence, and a link to it', () => {
    const html = renderToStaticMarkup(<IncidentBannerView incidents={[incident(4)]} />);
    assert.match(html, /role="status"/);
    assert.match(html, /href="\/admin\/incidents\/4"/);
    assert.equal(
      text(html),
      '1 open incidentCritical: Job failure rate of a model: gemini-2.5-flash-image. 75% of 40 finished jobs failed in the last 5 min (threshold 10%)View the incident',
    );
  });

  test('several: the count, the first one, how many more, a link to all; acknowledged when all are', () => {
    const html = renderToStaticMarkup(
      <IncidentBannerView incidents={[incident(4, { acknowledged_at: 'x' }), incident(5, { severity: 'warning', acknowledged_at: 'x' })]} />,
    );
    assert.match(text(html), /^2 open incidents \(acknowledged\)Critical: .* And 1 more\.View incidents$/);
    assert.match(html, /href="\/admin\/incidents"/);
    assert.match(html, /incident-banner-critical/);
  });
});

describe('incident list', () => {
  test('open incidents as cards, resolved ones in the table, with the rule silenced said in words', () => {
    const html = renderToStaticMarkup(
      <IncidentListView open={[incident(9, { notify: false })]} resolved={[incident(8, { status: 'resolved', resolved_at: '2026-12-06T10:10:00Z', value: 2, value_text: '2%' })]} />,
    );
    assert.match(html, /aria-label="Open incidents".*href="\/admin\/incidents\/9"/);
    assert.match(text(html), /rule silenced: nothing sent/);
    assert.match(html, /aria-label="Resolved incidents"/);
    assert.match(text(html), /Job failure rate of a model: gemini-2\.5-flash-image.*Critical.*2%/);
  });

  test('nothing open says so', () => {
    assert.match(renderToStaticMarkup(<IncidentListView open={[]} resolved={[]} />), /Nothing is open/);
  });
});

describe('rules table', () => {
  const rule: AlertRule = {
    id: 'failure_rate',
    name: 'Job failure rate',
    description: 'Share of finished jobs that failed, all models together.',
    scope: 'global',
    unit: 'percent',
    enabled: true,
    severity: 'critical',
    threshold: 10,
    threshold_text: '10%',
    window_minutes: 5,
    min_count: 20,
    hold_down_minutes: 5,
    silenced_until: '2026-12-06T11:00:00Z',
    silence_reason: 'deploying',
    threshold_wording: 'failed share of finished jobs above',
    window_wording: 'over the last (minutes)',
    min_count_wording: 'finished jobs at least',
    updated_at: '2026-12-06T10:00:00Z',
  };
  const render = (canEdit: boolean, asOf: number) =>
    renderToStaticMarkup(<AlertRulesTableView rules={[rule]} asOf={asOf} canEdit={canEdit} onEdit={() => {}} onSilence={() => {}} />);

  test('what it fires on, in words, with its window, minimum and hold-down', () => {
    assert.match(text(render(false, 0)), /failed share of finished jobs above 10%over the last 5 min; finished jobs at least 20; resolves 5 min after clearing/);
  });

  test('admins get Edit and Silence (Unsilence while silenced); support gets no actions', () => {
    const silencedAt = Date.parse('2026-12-06T10:30:00Z');
    assert.match(render(true, silencedAt), /aria-label="Unsilence: Job failure rate"/);
    assert.match(render(true, Date.parse('2026-12-06T11:30:00Z')), /aria-label="Silence: Job failure rate"/);
    assert.doesNotMatch(render(false, silencedAt), /<button/);
    assert.match(text(render(false, silencedAt)), /silenced until.*deploying/);
  });
});

describe('delivery table', () => {
  test('each state in words: delivered with its HTTP status, waiting for a retry with the error', () => {
    const base = {
      channel_id: '00000000-0000-4000-8000-000000000001',
      incident_id: 4,
      event: 'opened',
      max_attempts: 8,
      next_attempt_at: '2026-12-06T10:01:00Z',
      last_attempt_at: '2026-12-06T10:00:30Z',
      created_at: '2026-12-06T10:00:00Z',
      alert_channels: { name: 'On-call', kind: 'webhook' },
      alert_incidents: { title: 'Job failure rate' },
    } as const;
    const deliveries: AlertDelivery[] = [
      { ...base, id: 1, status: 'delivered', attempts: 1, last_status: 200, last_error: null, delivered_at: '2026-12-06T10:00:01Z' },
      { ...base, id: 2, status: 'pending', attempts: 2, last_status: 503, last_error: 'the receiver answered 503', delivered_at: null },
    ];
    const html = text(renderToStaticMarkup(<DeliveryTable deliveries={deliveries} label="Delivery log" />));
    assert.match(html, /On-call \(webhook\)OpenedJob failure rateDelivered1 of 8HTTP 200/);
    assert.match(html, /Waitingretry at .*2 of 8the receiver answered 503/);
  });
});
