import type { FaultRates, ForcedOutcome } from '../../supabase/local/gemini/faults.ts';
import type { LatencyConfig } from '../../supabase/local/gemini/latency.ts';

/**
 * The Gemini stand-in, steered over its admin endpoints: it runs in the global setup's process,
 * the journeys in worker processes.
 */
export class GeminiStandIn {
  constructor(private readonly baseUrl: string) {}

  /** No fault rates, nothing forced, and every call taking `latency` (none when null). */
  async reset(latency: LatencyConfig | null): Promise<void> {
    await this.send('DELETE');
    if (latency) await this.send('POST', { latency });
  }

  /** The next `count` calls (to `model`, or any) get `outcome`. */
  async force(forced: ForcedOutcome): Promise<void> {
    await this.send('POST', { force: forced });
  }

  /** From now on, calls to each listed model fail at these rates (reset() ends it). */
  async failModels(models: Record<string, FaultRates>): Promise<void> {
    await this.send('POST', { models });
  }

  private async send(method: 'POST' | 'DELETE', body?: object): Promise<void> {
    const response = await fetch(`${this.baseUrl}/__admin/faults`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`Gemini stand-in refused ${method} /__admin/faults: ${response.status} ${await response.text()}`);
  }
}
