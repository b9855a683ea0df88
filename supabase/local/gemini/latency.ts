import { FaultConfigError, seededRandom } from './faults.ts';

/**
 * Response time of the stand-in. Provider latency is right-skewed (most calls near the median,
 * a long tail of slow ones), which a log-normal captures with two numbers: given p50 and p99,
 * mu = ln(p50) and sigma = (ln(p99) - ln(p50)) / z(0.99). Zero by default so tests run at
 * full speed; `npm run dev` sets it so the console's latency charts have something to show.
 */
export interface LatencyConfig {
  p50: number;
  p99: number;
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.3263478740408408;

export function parseLatency(value: unknown): LatencyConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new FaultConfigError('latency must be {p50, p99} in ms');
  const { p50, p99 } = value as Record<string, unknown>;
  if (typeof p50 !== 'number' || typeof p99 !== 'number' || !(p50 >= 0) || !(p99 >= p50)) {
    throw new FaultConfigError('latency needs numbers 0 <= p50 <= p99 (milliseconds)');
  }
  return { p50, p99 };
}

/** `GEMINI_STANDIN_LATENCY_MS='{"p50":800,"p99":4000}'`. */
export function latencyFromEnv(env: Record<string, string | undefined>): LatencyConfig | undefined {
  const raw = env.GEMINI_STANDIN_LATENCY_MS;
  if (!raw) return undefined;
  try {
    return parseLatency(JSON.parse(raw));
  } catch (error) {
    if (error instanceof FaultConfigError) throw error;
    throw new FaultConfigError(`GEMINI_STANDIN_LATENCY_MS is not JSON: ${raw}`);
  }
}

/** Draws delays in ms from the log-normal fixed by p50 and p99; repeatable for a given seed. */
export class LatencySampler {
  private random: () => number;
  private spare: number | undefined;

  constructor(
    private config: LatencyConfig | undefined,
    seed = 0,
  ) {
    // A stream separate from the fault draws, so turning latency on does not change which
    // calls fail.
    this.random = seededRandom(seed ^ 0x5f3759df);
  }

  set(config: LatencyConfig | undefined) {
    this.config = config;
  }

  get current(): LatencyConfig | undefined {
    return this.config;
  }

  /** Box-Muller: two uniforms give two independent standard normals; the second is kept. */
  private normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    const u = 1 - this.random();
    const v = this.random();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  next(): number {
    const config = this.config;
    if (!config || config.p50 <= 0) return 0;
    const mu = Math.log(config.p50);
    const sigma = config.p99 > config.p50 ? (Math.log(config.p99) - mu) / Z99 : 0;
    return Math.exp(mu + sigma * this.normal());
  }
}
