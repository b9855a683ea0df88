'use client';

import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { auditTextSchema, REASON_MAX_LENGTH, type AuditText } from '@/lib/audit/reason-schema';
import { DialogFormFooter, ModalDialog } from './modal-dialog';

/**
 * Confirmation for a staff action, with the reason the audit log needs (or, for an incident's
 * note, the note itself), checked before it is sent. After the action ran, `result` replaces
 * the form.
 */
export function ReasonDialog({
  title,
  description,
  confirmLabel,
  pending,
  error,
  result,
  text = 'reason',
  onConfirm,
  onClose,
}: {
  title: string;
  description: ReactNode;
  confirmLabel: string;
  pending: boolean;
  error: string | null;
  result?: ReactNode;
  /** What the field holds: a reason (the default) or a note. */
  text?: AuditText;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const reasonId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = auditTextSchema(text).safeParse(reason);
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? `A ${text} is required`);
      return;
    }
    setInvalid(null);
    onConfirm(parsed.data);
  };

  return (
    <ModalDialog title={title} description={description} done={result} onClose={onClose}>
      {() => (
        <form onSubmit={submit} className="stack" noValidate>
          <label htmlFor={reasonId}>{text === 'note' ? 'Note' : 'Reason'} (required, goes to the audit log)</label>
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
          <DialogFormFooter error={error} pending={pending} submitLabel={confirmLabel} />
        </form>
      )}
    </ModalDialog>
  );
}
