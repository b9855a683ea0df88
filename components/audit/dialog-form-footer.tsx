/**
 * The end of every confirming dialog's form: the server's refusal, if any, then submit and
 * cancel. Submit is disabled while the request is in flight, so a double click sends once.
 */
export function DialogFormFooter({ error, pending, submitLabel, onCancel }: { error: string | null | undefined; pending: boolean; submitLabel: string; onCancel: () => void }) {
  return (
    <>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={pending}>
          {pending ? 'Working…' : submitLabel}
        </button>
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
