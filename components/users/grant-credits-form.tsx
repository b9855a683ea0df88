'use client';

import { useId, useState } from 'react';
import { REASON_MAX_LENGTH } from '@/lib/audit/reason-schema';
import { grantCreditsSchema, useGrantCreditsMutation } from '@/lib/users/grant-credits-mutation';

/** Goodwill credits with a required reason; validated by the same rule as grant_credits. */
export function GrantCreditsForm({ userId }: { userId: string }) {
  const mutation = useGrantCreditsMutation(userId);
  const [invalid, setInvalid] = useState<string | null>(null);
  const id = useId();
  const submit = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const parsed = grantCreditsSchema.safeParse({ amount: form.get('amount'), reason: form.get('reason') });
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'Check the form');
      return;
    }
    setInvalid(null);
    mutation.mutate(parsed.data, { onSuccess: () => formEl.reset() });
  };
  return (
    <form className="card stack" aria-labelledby={`${id}-h`} onSubmit={submit} noValidate>
      <h2 id={`${id}-h`}>Grant credits</h2>
      <label htmlFor={`${id}-amount`}>Credits</label>
      <input id={`${id}-amount`} name="amount" type="number" min={1} max={100000} step={1} required />
      <label htmlFor={`${id}-reason`}>Reason (required, goes to the audit log)</label>
      <textarea id={`${id}-reason`} name="reason" rows={2} maxLength={REASON_MAX_LENGTH} required />
      {invalid && (
        <p className="error-text" role="alert">
          {invalid}
        </p>
      )}
      {mutation.isError && (
        <p className="notice notice-error" role="alert">
          {mutation.error.message}
        </p>
      )}
      {mutation.isSuccess && (
        <p className="notice notice-ok" role="status">
          Granted {mutation.data.granted} credits; balance now {mutation.data.balance}.
        </p>
      )}
      <div>
        <button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? 'Granting…' : 'Grant credits'}
        </button>
      </div>
    </form>
  );
}
