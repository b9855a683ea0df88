import { z } from 'zod';

/** The limit private.check_reason enforces; the form says so before the database has to. */
export const REASON_MAX_LENGTH = 500;

/**
 * Every staff action carries a reason (it is what the audit log is read for). Same rule as the
 * SQL: trimmed, required, at most 500 characters.
 */
export const reasonSchema = z
  .string()
  .trim()
  .min(1, 'A reason is required')
  .max(REASON_MAX_LENGTH, `Keep the reason under ${REASON_MAX_LENGTH} characters`);

/** The reason, trimmed, or an Error in the form's words (for mutations called with raw input). */
export function parseReason(text: string): string {
  const parsed = reasonSchema.safeParse(text);
  if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'A reason is required');
  return parsed.data;
}
