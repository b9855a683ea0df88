import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { userKeys } from './keys';
import { userProfileSchema, type UserProfile } from './user-profile-schema';

/** Users whose email is, or starts with, the text (at most 20; see find_users). */
export async function findUsers(supabase: DatabaseClient, email: string): Promise<UserProfile[]> {
  const { data, error } = await supabase.rpc('find_users', { p_email: email });
  if (error) throw new Error(error.message);
  return userProfileSchema.array().parse(data);
}

export const findUsersQueryOptions = (supabase: DatabaseClient, email: string) =>
  queryOptions({ queryKey: userKeys.search(email.trim().toLowerCase()), queryFn: () => findUsers(supabase, email) });

export const useFindUsers = (email: string) => useQuery({ ...findUsersQueryOptions(createClient(), email), enabled: email.trim() !== '' });
