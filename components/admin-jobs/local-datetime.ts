/** datetime-local inputs want local wall-clock time without a zone; URLs hold ISO UTC. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A form's datetime-local value (local time) as ISO UTC, or undefined when empty. */
export function fromLocalInput(value: string | undefined): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}
