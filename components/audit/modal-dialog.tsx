'use client';

import { useEffect, useId, useRef, type MouseEvent, type ReactNode } from 'react';

/**
 * The shell of every confirmation, staff's and end users': a native modal <dialog> (focus moves into it and stays
 * there, Escape closes it, screen readers announce it as a dialog, without a library) with a
 * title and a description. The form comes from `children`, given the dialog's id (for its
 * labels); once the action has run, `done` replaces the form, with a Close button.
 */
export function ModalDialog({
  title,
  description,
  done,
  onClose,
  children,
}: {
  title: string;
  description?: ReactNode;
  done?: ReactNode;
  onClose: () => void;
  children: (dialog: { id: string }) => ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();

  // No close() on cleanup: it fires the dialog's close event, and under Strict Mode's mount,
  // unmount, mount the parent would hear "closed" and unmount a dialog it just opened. A removed
  // dialog leaves the top layer by itself.
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  return (
    <dialog ref={ref} className="card dialog" aria-labelledby={`${id}-title`} onClose={onClose}>
      <h2 id={`${id}-title`}>{title}</h2>
      {description && <div className="muted">{description}</div>}
      {done ? (
        <>
          {done}
          <div className="row">
            <button type="button" onClick={closeDialog} autoFocus>
              Close
            </button>
          </div>
        </>
      ) : (
        children({ id })
      )}
    </dialog>
  );
}

/** Closes the dialog the clicked button is in; its onClose then tells the owner. */
function closeDialog(event: MouseEvent<HTMLButtonElement>) {
  event.currentTarget.closest('dialog')?.close();
}

/**
 * The end of every confirming form: the server's refusal, if any, then submit and cancel.
 * Submit is disabled while the request is in flight, so a double click sends once.
 */
export function DialogFormFooter({ error, pending, submitLabel }: { error: string | null | undefined; pending: boolean; submitLabel: string }) {
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
        <button type="button" className="link-button" onClick={closeDialog}>
          Cancel
        </button>
      </div>
    </>
  );
}
