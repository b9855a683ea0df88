'use client';

import { useState } from 'react';
import { ReasonDialog } from '@/components/audit/reason-dialog';
import { TableSkeleton } from '@/components/admin-jobs/table-paging';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { RowActions, RowActionsHeader } from '@/components/tables/row-actions';
import { TableScroll } from '@/components/tables/table-scroll';
import { MODEL_ACTION_EFFECT, MODEL_ACTION_LABEL, useModelActionMutation, type ModelAction } from '@/lib/models/model-action-mutation';
import { useModelRegistry, type RegistryModel } from '@/lib/models/model-registry-query';
import '@/components/admin-jobs/admin-tables.css';

/** Which actions a model offers in its current state. */
function actionsFor(model: RegistryModel): ModelAction[] {
  if (!model.enabled) return ['enable'];
  return [model.paused ? 'resume' : 'pause', 'verify', 'disable'];
}

/** The model registry for admins: state, verification, circuit, and the actions, each with a reason. */
export function ModelRegistry() {
  const registry = useModelRegistry();
  const mutation = useModelActionMutation();
  const [pending, setPending] = useState<{ action: ModelAction; model: RegistryModel } | null>(null);

  if (registry.isPending) {
    return <TableSkeleton rows={3} label="Loading models" />;
  }
  if (registry.isError) return <ErrorPanel title="The registry could not be loaded" error={registry.error} onRetry={() => void registry.refetch()} />;
  if (registry.data.length === 0) return <p className="card muted">No models are registered.</p>;

  return (
    <div className="card">
      <TableScroll label="Models">
        <table className="data-table" aria-label="Models">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">State</th>
              <th scope="col">Queue</th>
              <th scope="col">Verification</th>
              <th scope="col">Circuit</th>
              <th scope="col">Credits / job</th>
              <RowActionsHeader />
            </tr>
          </thead>
          <tbody>
            {registry.data.map((m) => (
              <tr key={m.id}>
                <th scope="row">
                  {m.display_name}
                  <div className="mono muted">{m.id}</div>
                </th>
                <td>
                  {m.enabled ? 'enabled' : 'disabled'}
                  {m.disabled_reason && <div className="muted">{m.disabled_reason}</div>}
                </td>
                <td>{m.paused ? 'paused' : 'running'}</td>
                <td>
                  {m.verification_state}
                  {m.verification_detail && <div className="muted">{m.verification_detail}</div>}
                </td>
                <td>
                  {m.model_health?.circuit_state ?? '—'}
                  {m.model_health && m.model_health.consecutive_failures > 0 && (
                    <div className="muted">{m.model_health.consecutive_failures} failures in a row</div>
                  )}
                </td>
                <td>{m.credits_per_job}</td>
                <RowActions>
                  {actionsFor(m).map((action) => (
                    <button
                      key={action}
                      type="button"
                      aria-label={`${MODEL_ACTION_LABEL[action]}: ${m.id}`}
                      onClick={() => {
                        mutation.reset();
                        setPending({ action, model: m });
                      }}
                    >
                      {MODEL_ACTION_LABEL[action]}
                    </button>
                  ))}
                </RowActions>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {pending && (
        <ReasonDialog
          title={`${MODEL_ACTION_LABEL[pending.action]}: ${pending.model.display_name}?`}
          description={MODEL_ACTION_EFFECT[pending.action]}
          confirmLabel={MODEL_ACTION_LABEL[pending.action]}
          pending={mutation.isPending}
          error={mutation.error?.message ?? null}
          result={mutation.isSuccess ? <p className="notice notice-ok" role="status">Done.</p> : undefined}
          onConfirm={(reason) => mutation.mutate({ action: pending.action, modelId: pending.model.id, reason })}
          onClose={() => setPending(null)}
        />
      )}
    </div>
  );
}
