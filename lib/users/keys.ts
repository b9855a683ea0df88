/** Query keys for staff user lookups; a credit grant invalidates the profile (its balance). */
export const userKeys = {
  all: ['users'] as const,
  search: (email: string) => [...userKeys.all, 'search', email] as const,
  profile: (userId: string) => [...userKeys.all, 'profile', userId] as const,
};
