import type { ReactNode } from 'react';

/**
 * A titled chart card with its empty state. The chart itself carries a text summary for screen
 * readers (the SVG alone says nothing to them) and a fixed height, so the page does not jump.
 */
export function ChartFrame({ id, title, summary, empty, emptyText, children }: { id: string; title: string; summary: string; empty: boolean; emptyText: string; children: ReactNode }) {
  return (
    <section className="card chart-card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p className="muted chart-summary">{summary}</p>
      {empty ? (
        <div className="chart-empty">
          {emptyText}
        </div>
      ) : (
        children
      )}
    </section>
  );
}
