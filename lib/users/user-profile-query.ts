import { queryOptions, useQuery } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { createClient } from '@/lib/supabase/client';
import { userKeys } from './keys';
import { userProfileSchema, type UserProfile } from './user-profile-schema';

/** One user for staff, or null when there is no such user (or the id is malformed). */
export async function fetchUserProfile(supabase: DatabaseClient, userId: string): Promise<UserProfile | null> {
  const { data, error } = await supabase.rpc('get_user_profile', { p_user_id: userId });
  if (error) {
    if (error.code === '22P02') return null;
    throw new Error(error.message);
  }
  const rows = userProfileSchema.array().parse(data);
  return rows[0] ?? null;
}

export const userProfileQueryOptions = (supabase: DatabaseClient, userId: string) =>
  queryOptions({ queryKey: userKeys.profile(userId), queryFn: () => fetchUserProfile(supabase, userId) });

export const useUserProfile = (userId: string) => useQuery(userProfileQueryOptions(createClient(), userId));
