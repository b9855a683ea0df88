'use client';

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { REASON_MAX_LENGTH, reasonSchema } from '@/lib/audit/reason-schema';
import { DialogFormFooter } from './dialog-form-footer';

/**
 * Confirmation for a staff action, with the reason the audit log needs. A native modal
 * <dialog>: focus moves into it and stays there, Escape closes it, and screen readers announce
 * it as a dialog, without a library. After the action ran, `result` replaces the form.
 */
export function ReasonDialog({
  title,
  description,
  confirmLabel,
  pending,
  error,
  result,
  onConfirm,
  onClose,
}: {
  title: string;
  description: ReactNode;
  confirmLabel: string;
  pending: boolean;
  error: string | null;
  result?: ReactNode;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const reasonId = useId();
  const hintId = useId();

  // No close() on cleanup: it fires the dialog's close event, and under Strict Mode's mount,
  // unmount, mount the parent would hear "closed" and unmount a dialog it just opened. A removed
  // dialog leaves the top layer by itself.
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = reasonSchema.safeParse(reason);
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'A reason is required');
      return;
    }
    setInvalid(null);
    onConfirm(parsed.data);
  };

  return (
    <dialog ref={ref} className="card dialog" aria-labelledby={`${reasonId}-title`} onClose={onClose}>
      <h2 id={`${reasonId}-title`}>{title}</h2>
      <div className="muted">{description}</div>
      {result ? (
        <>
          {result}
          <div className="row">
            <button type="button" onClick={() => ref.current?.close()} autoFocus>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} className="stack" noValidate>
          <label htmlFor={reasonId}>Reason (required, goes to the audit log)</label>
          <textarea
            id={reasonId}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            maxLength={REASON_MAX_LENGTH}
            rows={3}
            required
            aria-invalid={invalid ? true : undefined}
            aria-describedby={hintId}
            autoFocus
          />
          <p id={hintId} className={invalid ? 'error-text' : 'muted'} role={invalid ? 'alert' : undefined}>
            {invalid ?? `${reason.trim().length}/${REASON_MAX_LENGTH} characters`}
          </p>
          <DialogFormFooter error={error} pending={pending} submitLabel={confirmLabel} onCancel={() => ref.current?.close()} />
        </form>
      )}
    </dialog>
  );
}
