import { memo } from 'react';
import { TableScroll } from '@/components/tables/table-scroll';
import type { ModelHealth } from '@/lib/metrics/health-schema';
import { formatLatency as ms } from '@/components/charts/format';

const CIRCUIT: Record<string, string> = { closed: 'Closed', open: 'Open', half_open: 'Half-open' };

/** Per model: registry state, circuit, load and the window's call outcomes and latency. */
export const ModelStateTable = memo(function ModelStateTable({ models }: { models: ModelHealth[] }) {
  return (
    <section className="card" aria-labelledby="models-title">
      <h2 id="models-title">Models and circuits</h2>
      {models.length === 0 ? (
        <p className="muted">No models registered.</p>
      ) : (
        <TableScroll label="Models and circuits">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">State</th>
                <th scope="col">Circuit</th>
                <th scope="col">Queued</th>
                <th scope="col">Running</th>
                <th scope="col">Calls</th>
                <th scope="col">429</th>
                <th scope="col">5xx</th>
                <th scope="col">Timeouts</th>
                <th scope="col">p50</th>
                <th scope="col">p95</th>
                <th scope="col">p99</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.model_id}>
                  <th scope="row" className="mono">
                    {m.model_id}
                  </th>
                  <td>{!m.enabled ? 'Disabled' : m.paused ? 'Paused' : m.verification_state === 'failed' ? 'Not found' : 'Enabled'}</td>
                  <td className={`state-${m.circuit_state}`}>
                    {CIRCUIT[m.circuit_state] ?? m.circuit_state}
                    {m.consecutive_failures > 0 ? <span className="muted"> ({m.consecutive_failures} failing)</span> : null}
                  </td>
                  <td>{m.queued.toLocaleString('en-US')}</td>
                  <td>{m.running.toLocaleString('en-US')}</td>
                  <td>{m.calls.toLocaleString('en-US')}</td>
                  <td>{m.rate_limited.toLocaleString('en-US')}</td>
                  <td>{m.server_error.toLocaleString('en-US')}</td>
                  <td>{m.timeout.toLocaleString('en-US')}</td>
                  <td>{ms(m.p50_ms)}</td>
                  <td>{ms(m.p95_ms)}</td>
                  <td>{ms(m.p99_ms)}</td>
                  <td>${m.cost_usd.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
});
