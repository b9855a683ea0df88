import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DatabaseClient } from '@/lib/supabase/database';
import { auditKeys } from '@/lib/audit/keys';
import { reasonSchema } from '@/lib/audit/reason-schema';
import { createClient } from '@/lib/supabase/client';
import { modelKeys } from './keys';

export const MODEL_ACTIONS = ['enable', 'disable', 'pause', 'resume', 'verify'] as const;
export type ModelAction = (typeof MODEL_ACTIONS)[number];

export const MODEL_ACTION_LABEL: Record<ModelAction, string> = {
  enable: 'Enable',
  disable: 'Disable',
  pause: 'Pause queue',
  resume: 'Resume queue',
  verify: 'Verify now',
};

export const MODEL_ACTION_EFFECT: Record<ModelAction, string> = {
  enable: 'The model accepts jobs again; the worker verifies it with the provider first.',
  disable: 'The model accepts no jobs, and its queued jobs fail and are refunded now.',
  pause: 'New jobs are accepted but wait in the queue until it is resumed.',
  resume: 'Waiting jobs start running again.',
  verify: 'The worker checks the model id with the provider; a model the provider does not know is disabled.',
};

export interface ModelActionInput {
  action: ModelAction;
  modelId: string;
  reason: string;
}

/** Each action is one audited SQL function (model_admin, model_registry_admin migrations). */
export async function runModelAction(supabase: DatabaseClient, input: ModelActionInput): Promise<void> {
  const reason = reasonSchema.parse(input.reason);
  const p = { p_model_id: input.modelId, p_reason: reason };
  const { error } =
    input.action === 'enable'
      ? await supabase.rpc('enable_model', p)
      : input.action === 'disable'
        ? await supabase.rpc('disable_model', p)
        : input.action === 'verify'
          ? await supabase.rpc('request_model_verification', p)
          : await supabase.rpc('set_model_paused', { ...p, p_paused: input.action === 'pause' });
  if (error) throw new Error(error.message);
}

export function useModelActionMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: ModelActionInput) => runModelAction(createClient(), input),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: modelKeys.all });
      void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
}
