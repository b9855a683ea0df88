import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { creditKeys } from './keys';
import { LEDGER_COLUMNS, ledgerEntrySchema, type LedgerEntry } from './ledger-entry-schema';

/** The newest 100 ledger rows of a user (credit_ledger_user_idx), for support's user page. */
export const USER_LEDGER_LIMIT = 100;

export async function fetchUserLedger(supabase: DatabaseClient, userId: string): Promise<LedgerEntry[]> {
  const { data, error } = await supabase
    .from('credit_ledger')
    .select(LEDGER_COLUMNS)
    .eq('user_id', userId)
    .order('id', { ascending: false })
    .limit(USER_LEDGER_LIMIT);
  if (error) throw new Error(error.message);
  return ledgerEntrySchema.array().parse(data);
}

export const userLedgerQueryOptions = (supabase: DatabaseClient, userId: string) =>
  queryOptions({ queryKey: creditKeys.ledger(userId), queryFn: () => fetchUserLedger(supabase, userId) });

export const useUserLedger = (userId: string) => useQuery(userLedgerQueryOptions(createClient(), userId));
