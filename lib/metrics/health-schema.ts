import { z } from 'zod';

/**
 * The System Health document as `public.job_health` returns it (see its migration header):
 * series are columnar, one array per measure aligned with `series.bucket`.
 */
const count = z.number();
const nullableNumber = z.number().nullable();

export const healthSeriesSchema = z.object({
  bucket: z.array(z.string()),
  created: z.array(count),
  claimed: z.array(count),
  succeeded: z.array(count),
  failed: z.array(count),
  requeued: z.array(count),
  retried: z.array(count),
  cancelled: z.array(count),
  refunds: z.array(count),
  refunded_credits: z.array(count),
  failure_rate: z.array(nullableNumber),
  queued: z.array(nullableNumber),
  running: z.array(nullableNumber),
});

export const modelHealthSchema = z.object({
  model_id: z.string(),
  enabled: z.boolean(),
  paused: z.boolean(),
  verification_state: z.string(),
  circuit_state: z.string(),
  consecutive_failures: z.number(),
  opened_at: z.string().nullable(),
  retry_after_until: z.string().nullable(),
  queued: count,
  running: count,
  calls: count,
  ok: count,
  rate_limited: count,
  server_error: count,
  timeout: count,
  other_error: count,
  cost_usd: z.number(),
  p50_ms: nullableNumber,
  p95_ms: nullableNumber,
  p99_ms: nullableNumber,
  latency: z.object({
    calls: z.array(count),
    errors: z.array(count),
    p50_ms: z.array(nullableNumber),
    p95_ms: z.array(nullableNumber),
    p99_ms: z.array(nullableNumber),
  }),
});

export const healthDocumentSchema = z.object({
  generated_at: z.string(),
  rolled_up_to: z.string().nullable(),
  window: z.object({ from: z.string(), to: z.string(), bucket_seconds: z.number().int().positive() }),
  current: z.object({
    queued: count,
    running: count,
    oldest_queued_seconds: nullableNumber,
    active_workers: count,
  }),
  totals: z.object({
    created: count,
    claimed: count,
    succeeded: count,
    failed: count,
    requeued: count,
    retried: count,
    cancelled: count,
    refunds: count,
    refunded_credits: count,
    failure_rate: nullableNumber,
  }),
  series: healthSeriesSchema,
  models: z.array(modelHealthSchema),
});

export type HealthDocument = z.infer<typeof healthDocumentSchema>;
export type HealthSeries = z.infer<typeof healthSeriesSchema>;
export type ModelHealth = z.infer<typeof modelHealthSchema>;
