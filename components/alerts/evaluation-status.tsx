'use client';

import { Timestamp } from '@/components/format/timestamp';
import { useEvaluationState } from '@/lib/alerts/evaluation-state-query';

/** When the rules were last evaluated: a schedule that stopped is visible here. */
export function EvaluationStatus() {
  const state = useEvaluationState();
  const last = state.data?.last_finished_at;
  return (
    <span className="muted">
      {last ? (
        <>
          Evaluated every minute; last at <Timestamp iso={last} format="clock" />
          {state.data?.last_duration_ms != null && ` (${Math.round(state.data.last_duration_ms)} ms)`}
        </>
      ) : (
        'Not evaluated yet'
      )}
    </span>
  );
}
