import { Buffer } from 'node:buffer';
import { ApiError, type GenerateContentResponse, type GoogleGenAI } from '@google/genai';
import type { Clock } from './clock.ts';

/**
 * One Gemini image call and what it means for the job. Every way a call ends is named here, once:
 *
 * | what happened                                 | provider_calls outcome | for the job              |
 * |-----------------------------------------------|------------------------|--------------------------|
 * | an image came back                            | ok                     | success                  |
 * | our timeout fired (AbortError)                | timeout                | retry (backoff)          |
 * | 429 RESOURCE_EXHAUSTED (RetryInfo retryDelay) | rate_limited           | retry no sooner than asked |
 * | 500 / 502 / 503 / 504                         | server_error           | retry (backoff)          |
 * | connection failed, body cut short (SyntaxError)| network_error         | retry (backoff)          |
 * | 200 without an image (text only, no candidates)| ok                    | retry (limited)          |
 * | prompt blocked, IMAGE_SAFETY and other safety finish reasons | safety_blocked | permanent, refund |
 * | 400 INVALID_ARGUMENT (and other 4xx)          | client_error           | permanent, refund        |
 * | 401 / 403 (our key)                           | client_error           | retry later, never in-attempt |
 * | 404 NOT_FOUND (the model id)                  | not_found              | disable the model, permanent |
 *
 * "Retry" means inside the attempt while its budget lasts, then the attempt ends retryable and
 * fail_job schedules the next one. A 200 without an image is a healthy provider (outcome ok, it
 * was billed) but no result; max_attempts bounds how often a job tries again.
 */
export type CallOutcome =
  | 'ok'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'client_error'
  | 'not_found'
  | 'safety_blocked'
  | 'network_error';

/** success; retry (in-attempt, then retryable); retry_later (end the attempt retryable now);
 * permanent (fail and refund); model_missing (404: disable the model, then permanent);
 * aborted (the worker stopped the call: fenced or shutting down). */
export type Disposition = 'success' | 'retry' | 'retry_later' | 'permanent' | 'model_missing' | 'aborted';

export interface GeneratedImage {
  data: Uint8Array;
  mimeType: string;
}

export interface GeminiCallResult {
  startedAt: Date;
  durationMs: number;
  outcome: CallOutcome;
  disposition: Disposition;
  /** The job's error class when this call ends the attempt. */
  errorClass: string;
  message: string;
  httpStatus?: number;
  /** The provider's own retry hint (429 RetryInfo), when it gave one. */
  retryAfterMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** The candidate's finish reason (STOP, IMAGE_SAFETY, ...), for the call's trace span. */
  finishReason?: string;
  image?: GeneratedImage;
}

export interface GeminiImageRequest {
  model: string;
  prompt: string;
  aspectRatio?: string;
  timeoutMs: number;
  /** The worker's own stop signal (fence lost, shutdown); not a timeout. */
  signal?: AbortSignal;
}

const SAFETY_FINISH_REASONS = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'RECITATION',
  'IMAGE_RECITATION',
]);

type CallBase = Pick<GeminiCallResult, 'startedAt' | 'durationMs'>;

export async function callGeminiImage(ai: GoogleGenAI, request: GeminiImageRequest, clock: Clock): Promise<GeminiCallResult> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout.signal, request.signal]) : timeout.signal;
  const started = clock.now();
  const base = (): CallBase => ({ startedAt: new Date(started), durationMs: Math.max(0, Math.round(clock.now() - started)) });
  try {
    const response = await ai.models.generateContent({
      model: request.model,
      contents: request.prompt,
      config: {
        responseModalities: ['TEXT', 'IMAGE'],
        ...(request.aspectRatio ? { imageConfig: { aspectRatio: request.aspectRatio } } : {}),
        abortSignal: signal,
      },
    });
    return inspectResponse(response, base());
  } catch (error) {
    // Which signal fired decides, not the error's shape: the SDK reports both as AbortError.
    if (timeout.signal.aborted) {
      return { ...base(), outcome: 'timeout', disposition: 'retry', errorClass: 'timeout', message: `no answer within ${request.timeoutMs} ms` };
    }
    if (request.signal?.aborted) {
      return { ...base(), outcome: 'timeout', disposition: 'aborted', errorClass: 'aborted', message: 'the worker stopped the call' };
    }
    return classifyError(error, base());
  } finally {
    clearTimeout(timer);
  }
}

export function inspectResponse(response: GenerateContentResponse, base: CallBase): GeminiCallResult {
  const usage = response.usageMetadata;
  const tokens: Pick<GeminiCallResult, 'inputTokens' | 'outputTokens' | 'finishReason'> = {
    inputTokens: usage?.promptTokenCount,
    outputTokens: usage ? (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0) : undefined,
  };
  const blockReason = response.promptFeedback?.blockReason;
  if (blockReason) {
    return { ...base, ...tokens, outcome: 'safety_blocked', disposition: 'permanent', httpStatus: 200, errorClass: 'safety_blocked', message: `the prompt was blocked (${blockReason})` };
  }
  const candidate = response.candidates?.[0];
  const finishReason = candidate?.finishReason as string | undefined;
  tokens.finishReason = finishReason;
  if (!candidate) {
    return { ...base, ...tokens, outcome: 'ok', disposition: 'retry', httpStatus: 200, errorClass: 'no_image', message: 'the answer had no candidates' };
  }
  if (finishReason && SAFETY_FINISH_REASONS.has(finishReason)) {
    return { ...base, ...tokens, outcome: 'safety_blocked', disposition: 'permanent', httpStatus: 200, errorClass: 'safety_blocked', message: `the image was withheld (${finishReason})` };
  }
  const inline = candidate.content?.parts?.find((p) => p.inlineData?.data && p.inlineData.mimeType?.startsWith('image/'))?.inlineData;
  if (!inline?.data) {
    return { ...base, ...tokens, outcome: 'ok', disposition: 'retry', httpStatus: 200, errorClass: 'no_image', message: `the answer had no image (finish reason ${finishReason ?? 'none'})` };
  }
  return {
    ...base,
    ...tokens,
    outcome: 'ok',
    disposition: 'success',
    httpStatus: 200,
    errorClass: '',
    message: 'ok',
    image: { data: decodeBase64(inline.data), mimeType: inline.mimeType ?? 'image/png' },
  };
}

/**
 * The image's bytes from its base64, in one allocation (a 4K PNG is several MB, and every job in
 * flight holds one). The runtime's own Uint8Array.fromBase64 where it has one (Deno): 28 ms for
 * a 4K answer against 83 ms through node:buffer's Buffer.from, the same at 1K (0.5 ms).
 */
const fromBase64 = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
function decodeBase64(data: string): Uint8Array {
  if (fromBase64) return fromBase64.call(Uint8Array, data);
  const bytes = Buffer.from(data, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Seconds in a google.protobuf.Duration as JSON ("7s", "0.5s"). */
function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/** The RetryInfo detail of a Google error body; ApiError does not expose the Retry-After header. */
export function retryDelayFromMessage(message: string): number | undefined {
  try {
    const body = JSON.parse(message) as { error?: { details?: Array<Record<string, unknown>> } };
    for (const detail of body.error?.details ?? []) {
      if (String(detail['@type'] ?? '').endsWith('google.rpc.RetryInfo')) return durationMs(detail.retryDelay);
    }
  } catch {
    // Not JSON (a proxy's HTML page): fall through to the pattern.
  }
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?s)"/.exec(message);
  return match ? durationMs(match[1]) : undefined;
}

function shortMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: string; status?: string } };
    if (parsed.error?.message) return `${parsed.error.status ?? 'error'}: ${parsed.error.message}`.slice(0, 500);
  } catch {
    // plain text
  }
  return raw.slice(0, 500);
}

export function classifyError(error: unknown, base: CallBase): GeminiCallResult {
  const message = shortMessage(error);
  if (error instanceof ApiError) {
    const status = error.status;
    const common = { ...base, httpStatus: status >= 100 && status <= 599 ? status : undefined, message };
    if (status === 429) {
      return { ...common, outcome: 'rate_limited', disposition: 'retry', errorClass: 'rate_limited', retryAfterMs: retryDelayFromMessage(error.message) };
    }
    if (status === 404) return { ...common, outcome: 'not_found', disposition: 'model_missing', errorClass: 'model_not_found' };
    if (status === 401 || status === 403) return { ...common, outcome: 'client_error', disposition: 'retry_later', errorClass: 'provider_auth' };
    if (status === 408) return { ...common, outcome: 'timeout', disposition: 'retry', errorClass: 'timeout' };
    if (status >= 500) return { ...common, outcome: 'server_error', disposition: 'retry', errorClass: 'server_error' };
    return { ...common, outcome: 'client_error', disposition: 'permanent', errorClass: 'invalid_argument' };
  }
  if (error instanceof SyntaxError) {
    return { ...base, outcome: 'network_error', disposition: 'retry', errorClass: 'malformed_response', message, httpStatus: 200 };
  }
  return { ...base, outcome: 'network_error', disposition: 'retry', errorClass: 'network_error', message };
}
