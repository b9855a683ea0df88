'use client';

import { useState } from 'react';
import { Timestamp } from '@/components/format/timestamp';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { RowActions, RowActionsHeader } from '@/components/tables/row-actions';
import { TableScroll } from '@/components/tables/table-scroll';
import { UNIT_LABEL, type AlertRule } from '@/lib/alerts/alert-schemas';
import { useAlertRules } from '@/lib/alerts/alert-rules-query';
import { ruleEditSchema, SILENCE_CHOICES, useSilenceAlertRule, useUpdateAlertRule } from '@/lib/alerts/rule-mutations';
import type { AppRole } from '@/lib/auth/roles';
import { fieldNumber, fieldText, FormDialog } from './form-dialog';
import { SeverityBadge } from './severity-badge';

/** The rules, what each fires on, and (admins) editing and silencing them. */
export function AlertRulesTable({ role }: { role: AppRole }) {
  const rules = useAlertRules();
  const [editing, setEditing] = useState<AlertRule | null>(null);
  const [silencing, setSilencing] = useState<AlertRule | null>(null);
  if (rules.isPending) return <div className="skeleton" style={{ height: '14rem' }} aria-busy="true" aria-label="Loading the rules" />;
  if (rules.isError) return <ErrorPanel title="The rules could not be loaded" error={rules.error} onRetry={() => void rules.refetch()} />;
  // "Silenced" is judged as of when the rules were read: a render stays a pure function of the data.
  return (
    <>
      <AlertRulesTableView rules={rules.data} asOf={rules.dataUpdatedAt} canEdit={role === 'admin'} onEdit={setEditing} onSilence={setSilencing} />
      {editing && <RuleEditDialog rule={editing} onClose={() => setEditing(null)} />}
      {silencing && <RuleSilenceDialog rule={silencing} silenced={isSilenced(silencing, rules.dataUpdatedAt)} onClose={() => setSilencing(null)} />}
    </>
  );
}

/** Whether the rule's silence was still running at `asOf` (ms since the epoch). */
export const isSilenced = (rule: AlertRule, asOf: number) => rule.silenced_until !== null && Date.parse(rule.silenced_until) > asOf;

/** "over 5 min, at least 20 finished jobs, resolves 5 min after clearing" */
function conditions(rule: AlertRule): string {
  const parts: string[] = [];
  if (rule.window_minutes !== null) parts.push(`${rule.window_wording?.replace(' (minutes)', '') ?? 'window'} ${rule.window_minutes} min`);
  if (rule.min_count !== null) parts.push(`${rule.min_count_wording ?? 'at least'} ${rule.min_count}`);
  parts.push(`resolves ${rule.hold_down_minutes} min after clearing`);
  return parts.join('; ');
}

export function AlertRulesTableView({
  rules,
  asOf,
  canEdit,
  onEdit,
  onSilence,
}: {
  rules: AlertRule[];
  asOf: number;
  canEdit: boolean;
  onEdit: (rule: AlertRule) => void;
  onSilence: (rule: AlertRule) => void;
}) {
  return (
    <div className="card">
      <TableScroll label="Alert rules">
        <table className="data-table" aria-label="Alert rules">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Fires when</th>
              <th scope="col">Severity</th>
              <th scope="col">State</th>
              {canEdit && <RowActionsHeader />}
            </tr>
          </thead>
          <tbody>
            {rules.map((rule) => {
              const silenced = isSilenced(rule, asOf);
              return (
                <tr key={rule.id}>
                  <th scope="row">
                    {rule.name}
                    <div className="muted rule-description">{rule.description}</div>
                  </th>
                  <td>
                    {rule.threshold_wording} <strong>{rule.threshold_text}</strong>
                    <div className="muted">{conditions(rule)}</div>
                  </td>
                  <td>
                    <SeverityBadge severity={rule.severity} />
                  </td>
                  <td>
                    {!rule.enabled ? 'disabled' : silenced ? (
                      <>
                        silenced until <Timestamp iso={rule.silenced_until} format="clock" />
                        {rule.silence_reason && <div className="muted">{rule.silence_reason}</div>}
                      </>
                    ) : (
                      'on'
                    )}
                  </td>
                  {canEdit && (
                    <RowActions>
                      <button type="button" aria-label={`Edit: ${rule.name}`} onClick={() => onEdit(rule)}>
                        Edit
                      </button>
                      <button type="button" aria-label={`${silenced ? 'Unsilence' : 'Silence'}: ${rule.name}`} onClick={() => onSilence(rule)}>
                        {silenced ? 'Unsilence' : 'Silence'}
                      </button>
                    </RowActions>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableScroll>
    </div>
  );
}

function RuleEditDialog({ rule, onClose }: { rule: AlertRule; onClose: () => void }) {
  const mutation = useUpdateAlertRule();
  const [invalid, setInvalid] = useState<string | null>(null);
  const submit = (data: FormData) => {
    const parsed = ruleEditSchema.safeParse({
      ruleId: rule.id,
      reason: fieldText(data, 'reason') ?? '',
      enabled: data.get('enabled') === 'on',
      severity: fieldText(data, 'severity'),
      threshold: fieldNumber(data, 'threshold'),
      windowMinutes: rule.window_minutes === null ? undefined : fieldNumber(data, 'window'),
      minCount: rule.min_count === null ? undefined : fieldNumber(data, 'minCount'),
      holdDownMinutes: fieldNumber(data, 'holdDown'),
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
      title={`Edit: ${rule.name}`}
      description={rule.description}
      submitLabel="Save"
      pending={mutation.isPending}
      error={invalid ?? mutation.error?.message ?? null}
      done={mutation.isSuccess ? <p className="notice notice-ok" role="status">Saved. The next evaluation uses it.</p> : undefined}
      onSubmit={submit}
      onClose={onClose}
    >
      <label className="inline-check">
        <input type="checkbox" name="enabled" defaultChecked={rule.enabled} /> Enabled
      </label>
      <label htmlFor="rule-severity">Severity</label>
      <select id="rule-severity" name="severity" defaultValue={rule.severity}>
        <option value="critical">Critical</option>
        <option value="warning">Warning</option>
      </select>
      <label htmlFor="rule-threshold">
        Fires when {rule.threshold_wording} ({UNIT_LABEL[rule.unit]})
      </label>
      <input id="rule-threshold" name="threshold" type="number" step="any" min={0} defaultValue={rule.threshold} required />
      {rule.window_minutes !== null && (
        <>
          <label htmlFor="rule-window">{rule.window_wording ?? 'Window (minutes)'}</label>
          <input id="rule-window" name="window" type="number" min={1} max={1440} defaultValue={rule.window_minutes} required />
        </>
      )}
      {rule.min_count !== null && (
        <>
          <label htmlFor="rule-min-count">Only with {rule.min_count_wording ?? 'at least'}</label>
          <input id="rule-min-count" name="minCount" type="number" min={0} defaultValue={rule.min_count} required />
        </>
      )}
      <label htmlFor="rule-hold-down">Resolve after clear for (minutes)</label>
      <input id="rule-hold-down" name="holdDown" type="number" min={0} max={1440} defaultValue={rule.hold_down_minutes} required />
    </FormDialog>
  );
}

function RuleSilenceDialog({ rule, silenced, onClose }: { rule: AlertRule; silenced: boolean; onClose: () => void }) {
  const mutation = useSilenceAlertRule();
  return (
    <FormDialog
      title={`${silenced ? 'Unsilence' : 'Silence'}: ${rule.name}`}
      description={
        silenced
          ? 'Messages for new incidents of this rule are sent again.'
          : 'The rule is still evaluated and its incidents still show here, but incidents that open while it is silenced send no message.'
      }
      submitLabel={silenced ? 'Unsilence' : 'Silence'}
      pending={mutation.isPending}
      error={mutation.error?.message ?? null}
      done={mutation.isSuccess ? <p className="notice notice-ok" role="status">Done.</p> : undefined}
      onSubmit={(data) =>
        mutation.mutate({ ruleId: rule.id, minutes: silenced ? 0 : Number(data.get('minutes')), reason: fieldText(data, 'reason') ?? '' })
      }
      onClose={onClose}
    >
      {!silenced && (
        <>
          <label htmlFor="silence-minutes">For</label>
          <select id="silence-minutes" name="minutes" defaultValue={60}>
            {SILENCE_CHOICES.map((c) => (
              <option key={c.minutes} value={c.minutes}>
                {c.label}
              </option>
            ))}
          </select>
        </>
      )}
    </FormDialog>
  );
}
