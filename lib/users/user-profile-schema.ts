import { z } from 'zod';

/** A row of find_users / get_user_profile (20261123000700_staff_actions_and_audit.sql). */
export const userProfileSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(['user', 'support', 'admin']),
  balance: z.coerce.number(),
  created_at: z.string(),
  last_sign_in_at: z.string().nullable(),
});
export type UserProfile = z.infer<typeof userProfileSchema>;

export const userSearchSchema = z.object({
  email: z.string().trim().min(1, 'Enter an email address or the start of one').max(320),
});
