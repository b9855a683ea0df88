/**
 * Which answer the stand-in gives to each generateContent call. Production Gemini fails in a
 * handful of distinct ways and the worker must classify each one correctly (retry with
 * Retry-After, retry with backoff, time out, fail without retry, refund), so every way is an
 * outcome here, chosen either by rate (a seeded PRNG: the same seed and request order give the
 * same sequence, so a failing run can be replayed) or forced for the next N calls (the way tests
 * pin one outcome without relying on probabilities).
 */
export const FAULT_KINDS = [
  'rate429',
  'error500',
  'error503',
  'hang',
  'blocked',
  'imageSafety',
  'noImage',
  'noCandidates',
  'malformed',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type Outcome = 'ok' | FaultKind;

export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultConfig extends FaultRates {
  /** Seed of the PRNG that draws outcomes by rate. */
  seed?: number;
  /** Retry delay a 429 announces (Retry-After header and RetryInfo.retryDelay), in seconds. */
  retryAfterSeconds?: number;
  /** Per-model rates; a model listed here uses these instead of the top-level rates. */
  models?: Record<string, FaultRates>;
}

export interface ForcedOutcome {
  outcome: Outcome;
  /** How many of the next matching calls get this outcome (default 1). */
  count?: number;
  /** Only calls to this model (id without `models/`); any model when absent. */
  model?: string;
}

export class FaultConfigError extends Error {}

const OUTCOMES = new Set<string>(['ok', ...FAULT_KINDS]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseRates(value: Record<string, unknown>, where: string, allowed: Set<string>): FaultRates {
  const rates: FaultRates = {};
  let sum = 0;
  for (const [key, rate] of Object.entries(value)) {
    if (allowed.has(key)) continue;
    if (!(FAULT_KINDS as readonly string[]).includes(key)) {
      throw new FaultConfigError(`${where}: unknown fault "${key}" (known: ${FAULT_KINDS.join(', ')})`);
    }
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new FaultConfigError(`${where}.${key}: a rate is a number from 0 to 1`);
    }
    rates[key as FaultKind] = rate;
    sum += rate;
  }
  // Rates are slices of one draw; more than the whole would silently starve the last ones.
  if (sum > 1 + 1e-9) throw new FaultConfigError(`${where}: fault rates add up to ${sum}, more than 1`);
  return rates;
}

/** Validates a fault configuration from the environment or the admin endpoint. */
export function parseFaultConfig(value: unknown): FaultConfig {
  if (!isRecord(value)) throw new FaultConfigError('fault configuration must be a JSON object');
  const config: FaultConfig = parseRates(value, 'faults', new Set(['seed', 'retryAfterSeconds', 'models']));
  if (value.seed !== undefined) {
    if (!Number.isInteger(value.seed)) throw new FaultConfigError('faults.seed must be an integer');
    config.seed = value.seed as number;
  }
  if (value.retryAfterSeconds !== undefined) {
    const s = value.retryAfterSeconds;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw new FaultConfigError('faults.retryAfterSeconds must be a non-negative integer');
    }
    config.retryAfterSeconds = s;
  }
  if (value.models !== undefined) {
    if (!isRecord(value.models)) throw new FaultConfigError('faults.models must map model ids to rates');
    config.models = {};
    for (const [model, rates] of Object.entries(value.models)) {
      if (!isRecord(rates)) throw new FaultConfigError(`faults.models.${model} must be an object of rates`);
      config.models[model.replace(/^models\//, '')] = parseRates(rates, `faults.models.${model}`, new Set());
    }
  }
  return config;
}

export function parseForcedOutcome(value: unknown): ForcedOutcome {
  if (!isRecord(value)) throw new FaultConfigError('force must be an object {outcome, count?, model?}');
  const { outcome, count = 1, model } = value;
  if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) {
    throw new FaultConfigError(`force.outcome must be one of ok, ${FAULT_KINDS.join(', ')}`);
  }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new FaultConfigError('force.count must be a positive integer');
  }
  if (model !== undefined && typeof model !== 'string') throw new FaultConfigError('force.model must be a string');
  return { outcome: outcome as Outcome, count, model: model?.replace(/^models\//, '') };
}

/** `GEMINI_STANDIN_FAULTS` (JSON) and `GEMINI_STANDIN_SEED`, as `npm run dev` passes them. */
export function faultsFromEnv(env: Record<string, string | undefined>): FaultConfig | undefined {
  const raw = env.GEMINI_STANDIN_FAULTS;
  const seed = env.GEMINI_STANDIN_SEED;
  if (!raw && !seed) return undefined;
  let parsed: unknown = {};
  if (raw) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new FaultConfigError(`GEMINI_STANDIN_FAULTS is not JSON: ${raw}`);
    }
  }
  const config = parseFaultConfig(parsed);
  if (seed) {
    if (!/^-?\d+$/.test(seed)) throw new FaultConfigError('GEMINI_STANDIN_SEED must be an integer');
    config.seed = Number(seed);
  }
  return config;
}

/** mulberry32: a tiny, well-distributed 32-bit PRNG; plenty for drawing outcomes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DEFAULT_RETRY_AFTER_SECONDS = 7;

/** The live fault state of one stand-in: rates, the PRNG, and the queue of forced outcomes. */
export class FaultPlan {
  private config: FaultConfig = {};
  private random: () => number = seededRandom(0);
  private forced: Array<Required<Pick<ForcedOutcome, 'outcome' | 'count'>> & { model?: string }> = [];

  constructor(config: FaultConfig = {}) {
    this.set(config);
  }

  /** Replaces rates and per-model rates; reseeds the PRNG. Forced outcomes already queued stay. */
  set(config: FaultConfig) {
    this.config = { ...config };
    this.random = seededRandom(config.seed ?? 0);
  }

  force(forced: ForcedOutcome) {
    this.forced.push({ outcome: forced.outcome, count: forced.count ?? 1, model: forced.model });
  }

  clearForced() {
    this.forced = [];
  }

  get retryAfterSeconds(): number {
    return this.config.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
  }

  /** The outcome of the next call to `model`: the first matching forced entry, else a draw by rate. */
  next(model: string): Outcome {
    const index = this.forced.findIndex((f) => f.model === undefined || f.model === model);
    if (index >= 0) {
      const entry = this.forced[index]!;
      entry.count -= 1;
      if (entry.count === 0) this.forced.splice(index, 1);
      return entry.outcome;
    }
    const rates = this.config.models?.[model] ?? this.config;
    // Draw even when every rate is 0, so adding a fault later does not shift the sequence.
    const draw = this.random();
    let cumulative = 0;
    for (const kind of FAULT_KINDS) {
      cumulative += rates[kind] ?? 0;
      if (draw < cumulative) return kind;
    }
    return 'ok';
  }

  describe() {
    return {
      ...this.config,
      retryAfterSeconds: this.retryAfterSeconds,
      forced: this.forced.map((f) => ({ ...f })),
    };
  }
}
