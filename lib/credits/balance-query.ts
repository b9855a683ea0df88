import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { creditKeys } from './keys';

/** The user's balance; a user who never had credits has no account row yet, which is 0. */
export async function fetchBalance(supabase: DatabaseClient, userId: string): Promise<number> {
  const { data, error } = await supabase.from('credit_accounts').select('balance').eq('user_id', userId).maybeSingle();
  if (error) throw new Error(error.message);
  return data ? Number(data.balance) : 0;
}

export const balanceQueryOptions = (supabase: DatabaseClient, userId: string) =>
  queryOptions({ queryKey: creditKeys.balance(userId), queryFn: () => fetchBalance(supabase, userId) });

export const useBalance = (userId: string) => useQuery(balanceQueryOptions(createClient(), userId));
