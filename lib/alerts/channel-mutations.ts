import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { z } from 'zod';
import { auditKeys } from '@/lib/audit/keys';
import { parseReason, reasonSchema } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { alertChannelSchema, SEVERITIES, type AlertChannel } from './alert-schemas';
import { alertKeys } from './keys';

/**
 * The channel form. The URL is only checked for shape here: whether its host is allowed
 * (https, public) is the database's decision on save, and its message is shown as it comes.
 * A webhook's signing secret is 32-200 characters without spaces, as the database requires.
 */
const secretSchema = z
  .string()
  .min(32, 'A signing secret has at least 32 characters')
  .max(200, 'A signing secret has at most 200 characters')
  .regex(/^\S+$/, 'A signing secret has no spaces');

export const channelFormSchema = z
  .object({
    name: z.string().trim().min(1, 'A name is required').max(100, 'At most 100 characters'),
    kind: z.enum(['slack', 'webhook']),
    url: z.string().trim().min(1, 'A URL is required').max(2000).refine((v) => URL.canParse(v), 'Not a URL'),
    signingSecret: z.string().optional(),
    minSeverity: z.enum(SEVERITIES),
    reason: reasonSchema,
  })
  .superRefine((form, ctx) => {
    if (form.kind !== 'webhook') return;
    const secret = secretSchema.safeParse(form.signingSecret ?? '');
    if (!secret.success) ctx.addIssue({ code: 'custom', path: ['signingSecret'], message: secret.error.issues[0]!.message });
  });
export type ChannelForm = z.infer<typeof channelFormSchema>;

/** A fresh signing secret, made in the browser so the admin can copy it to the receiver before saving. */
export function generateSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function createAlertChannel(supabase: DatabaseClient, input: ChannelForm): Promise<AlertChannel> {
  const parsed = channelFormSchema.safeParse(input);
  if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'Check the form');
  const form = parsed.data;
  const { data, error } = await supabase.rpc('create_alert_channel', {
    p_name: form.name,
    p_kind: form.kind,
    p_url: form.url,
    p_reason: form.reason,
    p_signing_secret: form.kind === 'webhook' ? form.signingSecret : undefined,
    p_min_severity: form.minSeverity,
  });
  if (error) throw new Error(error.message);
  return alertChannelSchema.parse(data);
}

/** Changes to a channel; a URL or secret given replaces the stored one, unseen. */
export async function updateAlertChannel(
  supabase: DatabaseClient,
  input: { channelId: string; reason: string; name?: string; enabled?: boolean; minSeverity?: string; url?: string; signingSecret?: string },
): Promise<void> {
  const { error } = await supabase.rpc('update_alert_channel', {
    p_channel_id: input.channelId,
    p_reason: parseReason(input.reason),
    p_name: input.name,
    p_enabled: input.enabled,
    p_min_severity: input.minSeverity,
    p_url: input.url || undefined,
    p_signing_secret: input.signingSecret || undefined,
  });
  if (error) throw new Error(error.message);
}

export async function deleteAlertChannel(supabase: DatabaseClient, input: { channelId: string; reason: string }): Promise<void> {
  const { error } = await supabase.rpc('delete_alert_channel', { p_channel_id: input.channelId, p_reason: parseReason(input.reason) });
  if (error) throw new Error(error.message);
}

/** Queues a test message; the delivery log shows how it went. */
export async function sendTestAlert(supabase: DatabaseClient, channelId: string): Promise<number> {
  const { data, error } = await supabase.rpc('send_test_alert', { p_channel_id: channelId });
  if (error) throw new Error(error.message);
  return data.id;
}

function useChannelMutation<T>(fn: (supabase: DatabaseClient, input: T) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: T) => fn(createClient(), input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: alertKeys.channels() });
      void queryClient.invalidateQueries({ queryKey: alertKeys.deliveries() });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}

export const useCreateAlertChannel = () => useChannelMutation(createAlertChannel);
export const useUpdateAlertChannel = () => useChannelMutation(updateAlertChannel);
export const useDeleteAlertChannel = () => useChannelMutation(deleteAlertChannel);
export const useSendTestAlert = () => useChannelMutation(sendTestAlert);
