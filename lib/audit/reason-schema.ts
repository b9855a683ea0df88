import { z } from 'zod';

/** The limit private.check_staff_text enforces on reasons and notes; the form says so before the database has to. */
export const REASON_MAX_LENGTH = 500;

/** What the text a staff member types for the audit log is called: a reason, or an incident's note. */
export type AuditText = 'reason' | 'note';

/**
 * Every staff action carries a reason (it is what the audit log is read for), and an incident's
 * note is kept the same way. Same rule as the SQL: trimmed, required, at most 500 characters,
 * and the errors name the field.
 */
export function auditTextSchema(what: AuditText) {
  const name = what === 'note' ? 'note' : 'reason';
  return z
    .string()
    .trim()
    .min(1, `A ${name} is required`)
    .max(REASON_MAX_LENGTH, `Keep the ${name} under ${REASON_MAX_LENGTH} characters`);
}

export const reasonSchema = auditTextSchema('reason');

/** The text, trimmed, or an Error in the form's words (for mutations called with raw input). */
export function parseReason(text: string, what: AuditText = 'reason'): string {
  const parsed = auditTextSchema(what).safeParse(text);
  if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? `A ${what} is required`);
  return parsed.data;
}
