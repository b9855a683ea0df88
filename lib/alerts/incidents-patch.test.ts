import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncidentChange } from './alert-change.ts';
import type { AlertDelivery } from './alert-schemas.ts';
import { patchDeliveries, patchOpenIncidents, patchResolvedIncidents, RESOLVED_INCIDENTS } from './incidents-patch.ts';

const incident = (id: number, overrides: Partial<IncidentChange> = {}): IncidentChange => ({
  id,
  rule_id: 'failure_rate',
  subject: '',
  status: 'open',
  severity: 'warning',
  title: `incident ${id}`,
  summary: 's',
  unit: 'percent',
  threshold: 10,
  threshold_text: '10%',
  value: 12,
  value_text: '12%',
  notify: true,
  opened_at: `2026-12-06T10:${String(id).padStart(2, '0')}:00Z`,
  clear_since: null,
  resolved_at: null,
  acknowledged_at: null,
  updated_at: '2026-12-06T10:00:00Z',
  ...overrides,
});

test('an opened incident joins the open list, critical first, then newest; a resolved one leaves it', () => {
  let open = patchOpenIncidents([], incident(1));
  open = patchOpenIncidents(open, incident(2));
  open = patchOpenIncidents(open, incident(3, { severity: 'critical' }));
  assert.deepEqual(open.map((i) => i.id), [3, 2, 1]);
  open = patchOpenIncidents(open, incident(2, { value: 40 }));
  assert.deepEqual([open.length, open.find((i) => i.id === 2)!.value], [3, 40], 'replaced, not added twice');
  open = patchOpenIncidents(open, incident(3, { status: 'resolved', resolved_at: '2026-12-06T11:00:00Z' }));
  assert.deepEqual(open.map((i) => i.id), [2, 1]);
});

test('the resolved list keeps the newest resolved incidents, updated in place; an open one is not added', () => {
  const resolvedAt = { status: 'resolved' as const, resolved_at: '2026-12-06T11:00:00Z' };
  const full = Array.from({ length: RESOLVED_INCIDENTS }, (_, i) => incident(i + 1, resolvedAt));
  assert.deepEqual(patchResolvedIncidents(full, incident(59)), full, 'an open incident stays off the list');
  const patched = patchResolvedIncidents(full, incident(59, resolvedAt));
  assert.equal(patched.length, RESOLVED_INCIDENTS);
  assert.equal(patched[0]!.id, 59);
  assert.equal(patched.some((i) => i.id === 1), false, 'the oldest made room');
  const noted = patchResolvedIncidents(patched, incident(59, { ...resolvedAt, value: 3 }));
  assert.deepEqual([noted.length, noted[0]!.value], [RESOLVED_INCIDENTS, 3]);
});

test('a delivery in the log is patched; one not in it asks for a refetch', () => {
  const row = { id: 7, status: 'pending', attempts: 0, last_status: null, last_error: null, delivered_at: null } as unknown as AlertDelivery;
  const change = { id: 7, status: 'delivered' as const, attempts: 1, last_status: 200, last_error: null, delivered_at: '2026-12-06T10:00:01Z' };
  assert.deepEqual(patchDeliveries([row], change)?.[0], { ...row, ...change });
  assert.equal(patchDeliveries([row], { ...change, id: 8 }), null);
});
