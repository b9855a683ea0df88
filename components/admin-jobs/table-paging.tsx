'use client';

/** Previous / next over server-side pages; counts are estimates, so "next" comes from the page itself. */
export function Pager({ page, hasNextPage, summary, onPage }: { page: number; hasNextPage: boolean; summary?: string; onPage: (page: number) => void }) {
  return (
    <nav className="pager" aria-label="Pages">
      <span className="muted">
        Page {page}
        {summary ? ` · ${summary}` : ''}
      </span>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <button type="button" disabled={!hasNextPage} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}

/** Placeholder rows while a table loads. */
export function TableSkeleton({ rows, label }: { rows: number; label: string }) {
  return (
    <div className="card" aria-busy="true" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ height: '1.6rem', marginBottom: '0.5rem' }} />
      ))}
    </div>
  );
}
