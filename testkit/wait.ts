import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for a condition instead of sleeping: calls `probe` every `intervalMs` until it returns
 * something other than `undefined`, `null` or `false`, and resolves with that value; past
 * `timeoutMs` it throws, naming what it waited for. Tests assert on the value afterwards, so a
 * slow machine makes a test slower, never wrong.
 */
export interface UntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the error: "the job to succeed". */
  label?: string;
}

export async function until<T>(probe: () => T | Promise<T>, options: UntilOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = 10_000, intervalMs = 20, label = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await delay(intervalMs);
  }
}
