import { z } from 'zod';
import type { ColumnsOf } from '@/lib/supabase/database';

/** One credit_ledger row as staff see it (bigint columns may arrive as strings). */
export const ledgerEntrySchema = z.object({
  id: z.coerce.number(),
  user_id: z.uuid(),
  delta: z.coerce.number(),
  reason: z.enum(['grant', 'job_charge', 'job_refund', 'adjustment']),
  job_id: z.uuid().nullable(),
  charge_seq: z.number().int().nullable(),
  actor_role: z.string(),
  note: z.string().nullable(),
  created_at: z.string(),
} satisfies ColumnsOf<'credit_ledger'>);
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;
export const LEDGER_COLUMNS = 'id,user_id,delta,reason,job_id,charge_seq,actor_role,note,created_at';
