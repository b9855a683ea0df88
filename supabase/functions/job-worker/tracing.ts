import type { GeminiCallResult } from './gemini-call.ts';
import { tracesEndpoint } from '../_shared/otel-endpoint.ts';

/**
 * The worker's side of a job's trace (docs/tracing.md): spans under the W3C trace context the
 * job carries (jobs.traceparent, on the row claim_jobs returns), exported as OTLP/HTTP JSON to
 * what the standard OTEL_* variables name.
 *
 * Our own small exporter rather than the OpenTelemetry SDK: the SDK's exporters lean on Node's
 * http module and timers for batching, its context manager on AsyncLocalStorage, and its
 * packages add several MB to an edge function's 256 MB; the worker needs none of it. Spans of
 * one job are built where the work happens (run-attempt.ts calls these hooks) and buffered;
 * every attempt's end flushes the buffer inside the background work the invocation keeps alive
 * (EdgeRuntime.waitUntil), so nothing is lost when the runtime stops the instance: the worker
 * flushes when its last attempt in flight ends, or when FLUSH_SPANS are waiting (job-worker.ts),
 * so a busy process sends one request for several jobs.
 *
 * Unset, it is a set of constant no-ops: no buffer, no timer, no request. An export that fails
 * (receiver down, slow, refusing) is logged and dropped: it never fails or delays a job beyond
 * the export timeout.
 */

export type AttributeValue = string | number | boolean | string[];
export type Attributes = Record<string, AttributeValue | undefined>;

export interface SpanHandle {
  readonly spanId: string;
  set(attributes: Attributes): void;
  /** Ends the span; `error` (an error.type) marks it failed. Ending twice is a no-op. */
  end(at?: number, error?: string): void;
}

/** One attempt's spans: the attempt span, its children, and the waits before it. */
export interface AttemptTrace {
  /** A child span of the attempt, started now (or at `start`). */
  span(name: string, attributes?: Attributes, start?: number): SpanHandle;
  /** Runs `work` inside a child span; a throw marks the span failed and is rethrown. */
  step<T>(name: string, work: () => Promise<T>, attributes?: (value: T) => Attributes): Promise<T>;
  /** One Gemini call, with the GenAI semantic conventions. */
  call(model: string, call: GeminiCallResult, prompt: string): void;
  /** Ends the attempt span with the attempt's outcome. */
  end(outcome: string, errorClass?: string): void;
}

export interface ClaimTiming {
  /** When the claim_jobs call that handed out the job started and answered (epoch ms). */
  start: number;
  end: number;
}

export interface TracedJob {
  id: string;
  model_id: string;
  attempt: number;
  max_attempts: number;
  run_at?: string | null;
  created_at?: string | null;
  traceparent?: string | null;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Spans waiting for the next flush. */
  readonly buffered: number;
  /**
   * Whether what is buffered is worth a request while other attempts still run: FLUSH_SPANS
   * waiting, or the oldest waiting for FLUSH_AFTER_MS (a busy process otherwise holds a trace
   * back until enough others have gathered behind it).
   */
  due(): boolean;
  attempt(job: TracedJob, claim: ClaimTiming | undefined, workerId: string): AttemptTrace;
  /** Sends what is buffered; resolves when the receiver answered, failed or timed out. */
  flush(): Promise<void>;
}

/**
 * Spans that make a request worth sending while other attempts still run (about 36 jobs' worth).
 * Each request costs the worker about 0.2 ms of CPU whatever its size (Deno's fetch), more than
 * building and encoding a job's seven spans, so a busy process batches; the OpenTelemetry SDK's
 * batch processor sends up to 512 a request. An idle process sends at once (job-worker.ts).
 */
export const FLUSH_SPANS = 256;

/** The longest a span waits in a busy process: the OpenTelemetry SDK batch processor's default delay. */
export const FLUSH_AFTER_MS = 5_000;

const NOOP_SPAN: SpanHandle = { spanId: '', set() {}, end() {} };
const NOOP_ATTEMPT: AttemptTrace = {
  span: () => NOOP_SPAN,
  step: (_name, work) => work(),
  call() {},
  end() {},
};
export const noTracing: Tracing = { enabled: false, buffered: 0, due: () => false, attempt: () => NOOP_ATTEMPT, flush: () => Promise.resolve() };

export interface TracingConfig {
  /** The full traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  endpoint: string;
  headers: Record<string, string>;
  serviceName: string;
  resource: Record<string, string>;
  /** The fraction of root traces kept (OTEL_TRACES_SAMPLER / _ARG), applied to the trace id. */
  ratio: number;
  /** Whether a parent's "not sampled" flag is honoured (the parentbased_* samplers). */
  parentBased: boolean;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: the prompt goes on the Gemini call's span. */
  captureContent: boolean;
  timeoutMs: number;
}

/** Comma-separated key=value pairs, values URL-encoded, as the OTEL_*_HEADERS variables define. */
export function parseKeyValues(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    try {
      out[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      out[key] = pair.slice(at + 1).trim();
    }
  }
  return out;
}

/**
 * The OpenTelemetry environment variables the worker honours. Null when nothing is to be
 * exported: no endpoint, OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none, or a sampler that
 * keeps nothing.
 */
export function readTracingConfig(env: (name: string) => string | undefined): TracingConfig | null {
  const endpoint = tracesEndpoint(env);
  if (!endpoint) return null;
  const sampler = (env('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = Number(env('OTEL_TRACES_SAMPLER_ARG'));
  const argRatio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  const ratio = sampler.endsWith('always_off') ? 0 : sampler.endsWith('traceidratio') ? argRatio : 1;
  if (ratio === 0 && !sampler.startsWith('parentbased')) return null;
  const resource = parseKeyValues(env('OTEL_RESOURCE_ATTRIBUTES'));
  const timeout = Number(env('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ?? env('OTEL_EXPORTER_OTLP_TIMEOUT'));
  return {
    endpoint,
    headers: { ...parseKeyValues(env('OTEL_EXPORTER_OTLP_HEADERS')), ...parseKeyValues(env('OTEL_EXPORTER_OTLP_TRACES_HEADERS')) },
    serviceName: env('OTEL_SERVICE_NAME')?.trim() || resource['service.name'] || 'job-worker',
    resource,
    ratio,
    parentBased: sampler.startsWith('parentbased'),
    captureContent: env('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT')?.trim().toLowerCase() === 'true',
    // The OTLP default is 10 s; a job's attempt waits for its flush, so ours is shorter.
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, 10_000) : 5_000,
  };
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** A parsed W3C traceparent (version 00), or null when it is malformed. */
export function parseTraceparent(value: string | null | undefined): { traceId: string; spanId: string; sampled: boolean } | null {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value ?? '');
  if (!match || match[1] === ZERO_TRACE_ID || match[2] === ZERO_SPAN_ID) return null;
  return { traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 };
}

/**
 * The database starts a job's trace itself when the request that made the job brought no
 * context (private.new_traceparent): its parent span id is then the first 16 hex digits of the
 * trace id, a span nobody has exported. The worker exports it, once, as the job's root span
 * (`job`, from the job's creation), so the trace has no missing parent.
 */
export function startedByDatabase(traceId: string, spanId: string): boolean {
  return traceId.slice(0, 16) === spanId;
}

/**
 * Keep a trace? Under the parentbased_* samplers (the default) the worker follows the decision
 * that came with the job (the traceparent's sampled flag, set where the trace started), so a
 * trace is kept or dropped whole. Where the worker is the root (the database started the trace,
 * or no parentbased sampler is set) it decides by the trace id, with the rule of the
 * OpenTelemetry JS SDK's TraceIdRatioBasedSampler, which the app uses: the same trace gets the
 * same answer in both.
 */
export function sampled(traceId: string, parent: { sampled: boolean; root: boolean }, config: Pick<TracingConfig, 'ratio' | 'parentBased'>): boolean {
  if (config.parentBased && !parent.root) return parent.sampled;
  if (config.ratio >= 1) return true;
  if (config.ratio <= 0) return false;
  let accumulated = 0;
  for (let i = 0; i < traceId.length / 8; i++) accumulated = (accumulated ^ parseInt(traceId.slice(i * 8, i * 8 + 8), 16)) >>> 0;
  return accumulated < Math.floor(config.ratio * 0xffffffff);
}

/**
 * A finished span as buffered: plain values, encoded to OTLP JSON once per request (encodeSpan)
 * rather than built as OTLP objects per span and serialised again at the flush.
 */
interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  /** Epoch ms. */
  start: number;
  end: number;
  attributes: Attributes;
  /** The error.type of a failed span (status ERROR with it as the message). */
  error: string | undefined;
}

const SPAN_KIND = { internal: 1, client: 3, consumer: 5 } as const;

type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean } | { arrayValue: { values: { stringValue: string }[] } };

/** OTLP attributes (AnyValue: int64 as a decimal string, as the OTLP JSON mapping says). */
function otlpAttributes(attributes: Attributes): { key: string; value: OtlpValue }[] {
  const out: { key: string; value: OtlpValue }[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push({ key, value: { stringValue: value } });
    else if (typeof value === 'boolean') out.push({ key, value: { boolValue: value } });
    else if (Array.isArray(value)) out.push({ key, value: { arrayValue: { values: value.map((v) => ({ stringValue: v })) } } });
    else if (Number.isInteger(value)) out.push({ key, value: { intValue: String(value) } });
    else out.push({ key, value: { doubleValue: value } });
  }
  return out;
}

const nanos = (ms: number) => `${Math.round(ms * 1000)}000`;

/** One span as OTLP/JSON's Span message. */
function otlpSpan(span: FinishedSpan) {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: nanos(span.start),
    endTimeUnixNano: nanos(span.end),
    attributes: otlpAttributes(span.attributes),
    status: span.error ? { code: 2, message: span.error } : { code: 0 },
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/**
 * Random bytes drawn from the platform's CSPRNG a page at a time: one getRandomValues call (a
 * call into the runtime, a few µs) per 512 span ids rather than per span.
 */
const idPool = new Uint8Array(4096);
let idPoolAt = idPool.length;

function randomSpanId(): string {
  if (idPoolAt + 8 > idPool.length) {
    crypto.getRandomValues(idPool);
    idPoolAt = 0;
  }
  let hex = '';
  for (let i = idPoolAt; i < idPoolAt + 8; i++) hex += HEX[idPool[i]!];
  idPoolAt += 8;
  return hex === ZERO_SPAN_ID ? randomSpanId() : hex;
}

export interface TracingDeps {
  now: () => number;
  log: (line: string) => void;
  fetch?: typeof fetch;
}

export function createTracing(config: TracingConfig | null, deps: TracingDeps): Tracing {
  if (!config) return noTracing;
  const send = deps.fetch ?? fetch;
  let buffer: FinishedSpan[] = [];
  /** When the oldest span in the buffer was buffered. */
  let bufferedSince = 0;
  let sending: Promise<void> = Promise.resolve();
  /** The flush waiting behind the request in progress, if any: later flushes join it. */
  let queued: Promise<void> | null = null;
  const headers = { ...config.headers, 'content-type': 'application/json' };
  const resource = {
    attributes: otlpAttributes({ ...config.resource, 'service.name': config.serviceName, 'telemetry.sdk.language': 'js', 'telemetry.sdk.name': 'job-health' }),
  };
  const scope = { name: 'job-health/job-worker', version: '1' };

  const keep = (span: FinishedSpan) => {
    if (buffer.length === 0) bufferedSince = deps.now();
    buffer.push(span);
  };

  const exportBatch = async (spans: FinishedSpan[]) => {
    try {
      const response = await send(config.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope, spans: spans.map(otlpSpan) }] }] }),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) deps.log(`trace export: ${spans.length} spans refused with HTTP ${response.status}`);
    } catch (error) {
      deps.log(`trace export: ${spans.length} spans dropped: ${(error as Error).message}`);
    }
  };

  const attempt = (job: TracedJob, claim: ClaimTiming | undefined, workerId: string): AttemptTrace => {
    const parent = parseTraceparent(job.traceparent);
    // A job without a usable context (a row from before traces) gets a trace of its own here.
    const traceId = parent?.traceId ?? `${randomSpanId()}${randomSpanId()}`;
    const root = !parent || startedByDatabase(parent.traceId, parent.spanId);
    if (!sampled(traceId, { sampled: parent?.sampled ?? true, root }, config)) return NOOP_ATTEMPT;
    const jobSpanId = parent?.spanId;

    const span = (name: string, parentSpanId: string | undefined, kind: number, attributes: Attributes, start: number): SpanHandle => {
      const spanId = randomSpanId();
      const attrs: Attributes = { ...attributes };
      let ended = false;
      return {
        spanId,
        set(more) {
          // Buffered as they are once ended: a late set must not change a span already sent.
          if (!ended) Object.assign(attrs, more);
        },
        end(at, error) {
          if (ended) return;
          ended = true;
          if (error) attrs['error.type'] = error;
          keep({ traceId, spanId, parentSpanId, name, kind, start, end: Math.max(start, at ?? deps.now()), attributes: attrs, error });
        },
      };
    };

    const jobAttributes = { 'job.id': job.id, 'job.attempt': job.attempt, 'job.model': job.model_id };
    const claimedAt = claim?.end ?? deps.now();
    if (parent && job.attempt === 1 && startedByDatabase(parent.traceId, parent.spanId) && job.created_at) {
      // The root the database named (see startedByDatabase): the job's creation, exported once.
      const created = Date.parse(job.created_at);
      keep({
        traceId,
        spanId: parent.spanId,
        parentSpanId: undefined,
        name: 'job.enqueue',
        kind: SPAN_KIND.internal,
        start: created,
        end: created,
        attributes: { 'job.id': job.id, 'job.model': job.model_id },
        error: undefined,
      });
    }
    const readyAt = job.run_at ? Date.parse(job.run_at) : NaN;
    if (Number.isFinite(readyAt)) {
      span('job.queue_wait', jobSpanId, SPAN_KIND.internal, jobAttributes, Math.min(readyAt, claim?.start ?? claimedAt)).end(claim?.start ?? claimedAt);
    }
    const attemptSpan = span(`job.attempt`, jobSpanId, SPAN_KIND.consumer, {
      ...jobAttributes,
      'job.max_attempts': job.max_attempts,
      'messaging.operation.type': 'process',
      'worker.id': workerId,
    }, claim?.start ?? claimedAt);
    if (claim) span('job.claim', attemptSpan.spanId, SPAN_KIND.client, { 'db.operation.name': 'claim_jobs' }, claim.start).end(claim.end);

    return {
      span: (name, attributes = {}, start) => span(name, attemptSpan.spanId, SPAN_KIND.internal, attributes, start ?? deps.now()),
      async step(name, work, attributes) {
        const s = span(name, attemptSpan.spanId, SPAN_KIND.internal, {}, deps.now());
        try {
          const value = await work();
          if (attributes) s.set(attributes(value));
          s.end();
          return value;
        } catch (error) {
          s.end(undefined, (error as Error).name || 'Error');
          throw error;
        }
      },
      call(model, call, prompt) {
        const started = call.startedAt.getTime();
        const s = span(`generate_content ${model}`, attemptSpan.spanId, SPAN_KIND.client, {
          'gen_ai.operation.name': 'generate_content',
          'gen_ai.provider.name': 'gcp.gemini',
          // The older name, still what several backends group GenAI spans by.
          'gen_ai.system': 'gemini',
          'gen_ai.request.model': model,
          'gen_ai.output.type': 'image',
          'gen_ai.response.finish_reasons': call.finishReason ? [call.finishReason] : undefined,
          'gen_ai.usage.input_tokens': call.inputTokens,
          'gen_ai.usage.output_tokens': call.outputTokens,
          'http.response.status_code': call.httpStatus,
          'jobhealth.call.outcome': call.outcome,
          'jobhealth.call.retry_after_ms': call.retryAfterMs,
          ...(config.captureContent ? { 'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]) } : {}),
        }, started);
        s.end(started + call.durationMs, call.disposition === 'success' ? undefined : call.errorClass || call.outcome);
      },
      end(outcome, errorClass) {
        attemptSpan.set({ 'job.outcome': outcome, 'job.error_class': errorClass });
        attemptSpan.end(undefined, outcome === 'succeeded' || outcome === 'released' ? undefined : errorClass ?? (outcome === 'retry_scheduled' || outcome === 'failed' ? outcome : undefined));
      },
    };
  };

  return {
    enabled: true,
    get buffered() {
      return buffer.length;
    },
    due() {
      return buffer.length >= FLUSH_SPANS || (buffer.length > 0 && deps.now() - bufferedSince >= FLUSH_AFTER_MS);
    },
    attempt,
    flush() {
      // One request at a time, and at most one waiting behind it: attempts that end while a
      // request is out all join the next one, which takes everything buffered when it starts
      // (their spans included), instead of each sending a few spans of its own.
      if (queued) return queued;
      const next = sending.then(async () => {
        queued = null;
        if (buffer.length === 0) return;
        const spans = buffer;
        buffer = [];
        await exportBatch(spans);
      });
      queued = next;
      sending = next;
      return next;
    },
  };
}
