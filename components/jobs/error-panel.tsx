'use client';

/** An error with a way out: the message and a retry the keyboard can reach. */
export function ErrorPanel({ title, error, onRetry }: { title: string; error: Error; onRetry: () => void }) {
  return (
    <div className="card" role="alert">
      <h2>{title}</h2>
      <p className="muted">{error.message}</p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}
