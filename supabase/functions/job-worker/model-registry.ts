import { ApiError, type GoogleGenAI } from '@google/genai';
import type { Clock } from './clock.ts';
import type { ModelRow, Pipeline } from './pipeline.ts';

/**
 * What the worker needs from the model registry: each model's price per call (the cost written
 * with every call), refreshed every 30 s so an admin's price change reaches running workers
 * without a redeploy, and at once when a job names a model not seen yet.
 */
export interface ModelRegistry {
  priceUsd(modelId: string): Promise<number>;
}

const REFRESH_MS = 30_000;

export function createModelRegistry(pipeline: Pipeline, clock: Clock): ModelRegistry {
  let models = new Map<string, ModelRow>();
  let loadedAt = -Infinity;
  let loading: Promise<void> | undefined;
  const load = () =>
    (loading ??= pipeline
      .listModels()
      .then((rows) => {
        models = new Map(rows.map((r) => [r.id, r]));
        loadedAt = clock.now();
      })
      .finally(() => {
        loading = undefined;
      }));
  return {
    async priceUsd(modelId) {
      if (!models.has(modelId) || clock.now() - loadedAt > REFRESH_MS) await load();
      return Number(models.get(modelId)?.price_usd_per_call ?? 0);
    },
  };
}

export interface VerificationReport {
  verified: string[];
  disabled: string[];
  /** Could not be checked (provider unreachable, timeout): left as they were. */
  unchecked: string[];
}

/**
 * Cold-start check of every enabled model against the provider (models.get). The incident this
 * prevents: a misspelt model id made every job wait out a 120 s timeout while its credits sat
 * consumed. A 404 disables the model at once, which fails its queued jobs with refunds; a model
 * the provider knows is marked verified. Anything else (timeout, 5xx) proves nothing either way,
 * so the model is left for the next cold start.
 */
export async function verifyModels(deps: {
  pipeline: Pipeline;
  ai: GoogleGenAI;
  timeoutMs: number;
  log: (line: string) => void;
  /** Which enabled models to check (default: all of them). */
  select?: (model: ModelRow) => boolean;
}): Promise<VerificationReport> {
  const report: VerificationReport = { verified: [], disabled: [], unchecked: [] };
  const models = (await deps.pipeline.listModels()).filter((m) => m.enabled && (deps.select?.(m) ?? true));
  await Promise.all(
    models.map(async (model) => {
      try {
        const found = await deps.ai.models.get({ model: model.id, config: { httpOptions: { timeout: deps.timeoutMs } } });
        await deps.pipeline.setModelVerification(model.id, 'verified', `${found.displayName ?? model.id} (${found.name ?? ''})`);
        report.verified.push(model.id);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          const reason = `the provider does not know model ${model.id} (404 on models.get)`;
          await deps.pipeline.setModelVerification(model.id, 'failed', reason);
          await deps.pipeline.disableModel(model.id, reason);
          deps.log(`model ${model.id} disabled: ${reason}`);
          report.disabled.push(model.id);
        } else {
          deps.log(`model ${model.id} not verified: ${(error as Error).message.slice(0, 200)}`);
          report.unchecked.push(model.id);
        }
      }
    }),
  );
  return report;
}

/**
 * Verification an admin asked for ("verify now", or enabling a model again): the model is marked
 * unverified and the worker woken. Each invocation checks the enabled, unverified models whose
 * row changed since this process last checked them, so a request is honoured by the next
 * invocation, and a model left unverified because the provider was unreachable is not asked
 * about again on every invocation (only on the next request or cold start).
 */
export function createRequestedVerification(deps: Omit<Parameters<typeof verifyModels>[0], 'select'>) {
  const checked = new Map<string, string>();
  let running: Promise<VerificationReport> | undefined;
  return {
    run(): Promise<VerificationReport> {
      return (running ??= verifyModels({
        ...deps,
        select: (m) => {
          if (m.verification_state !== 'unverified' || checked.get(m.id) === m.updated_at) return false;
          checked.set(m.id, m.updated_at);
          return true;
        },
      }).finally(() => {
        running = undefined;
      }));
    },
  };
}
