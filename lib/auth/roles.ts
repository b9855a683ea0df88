/**
 * A user's role comes from `app_metadata.role`, which only the server can set; never from
 * `user_metadata`, which the user can edit. Anyone signed in without a staff role is a user.
 */
export type AppRole = 'admin' | 'support' | 'user';

export function roleOf(user: { app_metadata?: Record<string, unknown> } | null | undefined): AppRole | null {
  if (!user) return null;
  const role = user.app_metadata?.role;
  return role === 'admin' || role === 'support' ? role : 'user';
}

export const isStaff = (role: AppRole | null): role is 'admin' | 'support' => role === 'admin' || role === 'support';

/** Where a role lands after signing in. */
export function homeFor(role: AppRole): string {
  return isStaff(role) ? '/admin' : '/jobs';
}
