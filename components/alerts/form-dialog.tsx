'use client';

import type { FormEvent, ReactNode } from 'react';
import { REASON_MAX_LENGTH } from '@/lib/audit/reason-schema';
import { DialogFormFooter, ModalDialog } from '@/components/audit/modal-dialog';

/**
 * A staff form in the console's modal dialog, with the reason the audit log needs as its last
 * field. onSubmit receives the form's data; errors (the form's own, or the database's) are shown
 * above the buttons.
 */
export function FormDialog({
  title,
  description,
  submitLabel,
  pending,
  error,
  done,
  onSubmit,
  onClose,
  children,
}: {
  title: string;
  description?: ReactNode;
  submitLabel: string;
  pending: boolean;
  error: string | null;
  done?: ReactNode;
  onSubmit: (data: FormData) => void;
  onClose: () => void;
  children: ReactNode;
}) {
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    onSubmit(new FormData(event.currentTarget));
  };
  return (
    <ModalDialog title={title} description={description} done={done} onClose={onClose}>
      {({ id }) => (
        <form onSubmit={submit} className="stack" noValidate>
          {children}
          <label htmlFor={`${id}-reason`}>Reason (required, goes to the audit log)</label>
          <textarea id={`${id}-reason`} name="reason" maxLength={REASON_MAX_LENGTH} rows={2} required />
          <DialogFormFooter error={error} pending={pending} submitLabel={submitLabel} />
        </form>
      )}
    </ModalDialog>
  );
}

/** A form field's text, or undefined when left empty. */
export function fieldText(data: FormData, name: string): string | undefined {
  const value = data.get(name);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A form field as a number (NaN when it is not one), or undefined when left empty. */
export function fieldNumber(data: FormData, name: string): number | undefined {
  const text = fieldText(data, name);
  return text === undefined ? undefined : Number(text);
}
