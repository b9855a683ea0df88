import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { SamplingDecision, TraceIdRatioBasedSampler, type BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { context } from '@opentelemetry/api';
import { runJobActionInTrace } from '../../../lib/admin-jobs/job-action-in-trace.ts';
import { createJobInTrace } from '../../../lib/jobs/create-job-in-trace.ts';
import { registerAppTracing } from '../../../lib/tracing/register.ts';
import { createJobWorker } from '../../functions/job-worker/job-worker.ts';
import { createTracing, FLUSH_AFTER_MS, FLUSH_SPANS, parseTraceparent, readTracingConfig, sampled } from '../../functions/job-worker/tracing.ts';
import { signedInClient } from '../../../testkit/http/clients.ts';
import { OtlpReceiver, type ReceivedSpan } from '../../../testkit/http/otlp-receiver.ts';
import { until } from '../../../testkit/wait.ts';
import { FLASH, jobRow, startWorkerFixture, type WorkerFixture } from './worker-fixture.ts';

// One job's trace across the app and the worker, received by a real OTLP/HTTP receiver: the
// app's create (the registration instrumentation.ts runs, @opentelemetry/sdk-trace-base and its
// OTLP exporter), the database keeping the context, and the worker continuing it, in process
// and as deployed in Deno.
const PROMPT = 'a secret lighthouse the traces must never show';

let receiver: OtlpReceiver;
let f: WorkerFixture;
let app: BasicTracerProvider;
before(async () => {
  receiver = await new OtlpReceiver().start();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_SERVICE_NAME = 'job-health-app';
  app = registerAppTracing()!;
  assert.ok(app, 'an endpoint is set: the app registers its exporter');
  f = await startWorkerFixture({
    functions: { instances: 1, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'job-worker' } },
  });
});
after(async () => {
  await app?.shutdown();
  await f?.stop();
  await receiver?.stop();
});
afterEach(async () => {
  receiver.answerWith(200);
  f.standIn.setFaults({});
  await fetch(`${f.standIn.url}/__admin/faults`, { method: 'POST', body: JSON.stringify({ clearForced: true }) });
  await f.db.query(`update public.model_health set circuit_state = 'closed', consecutive_failures = 0, retry_after_until = null`);
});

const input = { modelId: FLASH, prompt: PROMPT, aspectRatio: '1:1' as const, numberOfImages: 1 };
const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');

async function traceparentOf(jobId: string): Promise<string> {
  const { rows } = await f.db.query<{ traceparent: string }>('select traceparent from public.jobs where id = $1', [jobId]);
  return rows[0]!.traceparent;
}

/** The worker, in this process, with its tracing set by these variables. */
function inProcessWorker(env: Record<string, string>) {
  return createJobWorker({
    ...f.deps,
    verifyAtStart: false,
    tracing: createTracing(readTracingConfig((name) => env[name]), { now: Date.now, log: f.deps.log }),
  });
}

/** Runs every queued job with an in-process worker and returns once it is idle (and stopped). */
async function runQueued(env: Record<string, string>): Promise<void> {
  const worker = inProcessWorker(env);
  await worker.invoke();
  await worker.idle();
  await worker.shutdown();
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string) => {
  const found = named(spans, name);
  assert.equal(found.length, 1, `one ${name} span, got ${found.length}`);
  return found[0]!;
};
const ofJob = (jobId: string, traceId: string) => receiver.spans().filter((s) => s.traceId === traceId || s.attributes['job.id'] === jobId);

describe('a job trace', () => {
  test('a job made with no incoming context gets a trace of its own, and the worker has sent it before it is idle', async () => {
    const { id } = await f.enqueue('alice');
    const traceparent = await traceparentOf(id);
    const [, traceId, rootId] = traceparent.split('-') as [string, string, string];
    await runQueued({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    // No waiting: idle() resolved after the attempt's flush had its answer.
    const spans = ofJob(id, traceId);
    assert.ok(spans.length > 0, 'the spans were received before the worker went idle');
    assert.deepEqual([...new Set(spans.map((s) => s.traceId))], [traceId], 'one trace');
    const root = one(spans, 'job.enqueue');
    assert.equal(root.spanId, rootId, 'the root span is the one the database named');
    assert.equal(root.parentSpanId, undefined);
    const attempt = one(spans, 'job.attempt');
    assert.equal(attempt.parentSpanId, rootId);
    assert.equal(one(spans, 'job.queue_wait').parentSpanId, rootId);
    for (const name of ['job.claim', 'job.upload', 'job.complete']) assert.equal(one(spans, name).parentSpanId, attempt.spanId, name);
    assert.equal(attempt.attributes['job.outcome'], 'succeeded');
  });

  test('export failures never fail a job: a receiver answering 503, and one that is not there', async () => {
    receiver.answerWith(503);
    const refused = await f.enqueue('alice');
    await runQueued({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    assert.equal((await jobRow(f.db, refused.id)).status, 'succeeded');
    assert.ok(f.logs.some((l) => /trace export: \d+ spans refused with HTTP 503/.test(l)), 'the refusal is logged');

    const gone = await f.enqueue('alice');
    await runQueued({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' });
    assert.equal((await jobRow(f.db, gone.id)).status, 'succeeded');
    assert.ok(f.logs.some((l) => /trace export: \d+ spans dropped/.test(l)), 'the failed connection is logged');
  });

  test('with no endpoint the worker sends nothing', async () => {
    const before = receiver.http.received.length;
    const { id } = await f.enqueue('alice');
    await runQueued({});
    assert.equal((await jobRow(f.db, id)).status, 'succeeded');
    assert.equal(receiver.http.received.length, before);
  });

  test('a malformed traceparent from the browser starts a new trace; a well-formed one is only linked', async () => {
    const { client: alice } = await signedInClient(f.stack, 'alice');
    const malformed = await createJobInTrace(alice, input, '00-not-a-trace');
    const browser = `00-${hex(16)}-${hex(8)}-01`;
    const linked = await createJobInTrace(alice, input, browser);
    await app.forceFlush();
    const creates = named(receiver.spans(), 'job.create');
    const forMalformed = creates.find((s) => s.attributes['job.id'] === malformed.id)!;
    const forLinked = creates.find((s) => s.attributes['job.id'] === linked.id)!;
    assert.deepEqual(forMalformed.links, []);
    assert.equal(forMalformed.parentSpanId, undefined);
    assert.equal(await traceparentOf(malformed.id), `00-${forMalformed.traceId}-${forMalformed.spanId}-01`);
    assert.notEqual(forLinked.traceId, browser.slice(3, 35), "the job's trace is not the browser's");
    assert.equal(forLinked.parentSpanId, undefined);
    assert.deepEqual(forLinked.links, [{ traceId: browser.slice(3, 35), spanId: browser.slice(36, 52) }]);
    // Run here, so the next test's forced 429 meets its own job's call.
    await runQueued({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
  });

  test('a job that hits a 429 once, then succeeds, is one trace from the app through the deployed worker', async () => {
    f.standIn.setFaults({ retryAfterSeconds: 1 });
    f.standIn.force({ outcome: 'rate429', count: 1 });
    const { client: alice } = await signedInClient(f.stack, 'alice');
    const job = await createJobInTrace(alice, input);
    await app.forceFlush();
    const invoked = await fetch(`${f.stack.apiUrl}/functions/v1/job-worker`, { method: 'POST', headers: { apikey: f.stack.secretKey }, body: '{}' });
    assert.equal(invoked.status, 202);
    await invoked.body?.cancel();

    const create = one(named(receiver.spans(), 'job.create').filter((s) => s.attributes['job.id'] === job.id), 'job.create');
    const spans = await until(() => {
      const all = receiver.spans().filter((s) => s.traceId === create.traceId);
      return all.some((s) => s.name === 'job.complete') && all;
    }, { timeoutMs: 60_000, label: "the worker's spans" });
    assert.equal((await jobRow(f.db, job.id)).status, 'succeeded');

    // Exactly one trace: every span naming the job is on the create span's trace.
    assert.deepEqual([...new Set(receiver.spans().filter((s) => s.attributes['job.id'] === job.id).map((s) => s.traceId))], [create.traceId]);
    assert.equal(create.service, 'job-health-app');
    assert.equal(create.parentSpanId, undefined);
    assert.equal(await traceparentOf(job.id), `00-${create.traceId}-${create.spanId}-01`, 'the database kept the span that made the job');

    const worker = spans.filter((s) => s.service === 'job-worker');
    assert.equal(worker.length, spans.length - 1, "every other span is the worker's, sent from Deno");
    assert.equal(named(worker, 'job.enqueue').length, 0, 'the app made the root; the worker does not make another');
    const wait = one(worker, 'job.queue_wait');
    const attempt = one(worker, 'job.attempt');
    assert.equal(wait.parentSpanId, create.spanId);
    assert.equal(attempt.parentSpanId, create.spanId);
    assert.equal(wait.end, attempt.start, 'the wait ends where the attempt starts: at the claim');
    assert.deepEqual(
      { id: attempt.attributes['job.id'], attempt: attempt.attributes['job.attempt'], model: attempt.attributes['job.model'], outcome: attempt.attributes['job.outcome'] },
      { id: job.id, attempt: 1, model: FLASH, outcome: 'succeeded' },
    );

    const children = worker.filter((s) => s.parentSpanId === attempt.spanId).sort((a, b) => (a.start < b.start ? -1 : 1));
    assert.deepEqual(children.map((s) => s.name), [
      'job.claim',
      `generate_content ${FLASH}`,
      'job.retry_after_wait',
      `generate_content ${FLASH}`,
      'job.upload',
      'job.complete',
    ]);
    for (const child of children) assert.ok(child.start >= attempt.start && child.end <= attempt.end, `${child.name} inside the attempt`);
    const [, limited, waited, answered] = children as [ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan];
    const genAi = (s: ReceivedSpan) => ({
      operation: s.attributes['gen_ai.operation.name'],
      provider: s.attributes['gen_ai.provider.name'],
      system: s.attributes['gen_ai.system'],
      model: s.attributes['gen_ai.request.model'],
      status: s.attributes['http.response.status_code'],
      error: s.attributes['error.type'],
    });
    assert.deepEqual(genAi(limited), { operation: 'generate_content', provider: 'gcp.gemini', system: 'gemini', model: FLASH, status: 429, error: 'rate_limited' });
    assert.equal(limited.status.code, 2, 'the 429 is an error span');
    assert.equal(limited.kind, 3, 'a client span');
    assert.deepEqual(genAi(answered), { operation: 'generate_content', provider: 'gcp.gemini', system: 'gemini', model: FLASH, status: 200, error: undefined });
    assert.deepEqual(answered.attributes['gen_ai.response.finish_reasons'], ['STOP']);
    assert.ok((answered.attributes['gen_ai.usage.input_tokens'] as number) > 0);
    assert.ok((answered.attributes['gen_ai.usage.output_tokens'] as number) >= 1290);
    assert.equal(waited.attributes['jobhealth.retry_after_ms'], 1000, "the wait is the provider's Retry-After");
    assert.ok(waited.start >= limited.end && waited.end <= answered.start, 'the wait sits between the two calls');
    assert.ok(waited.end - waited.start >= 1_000_000_000n, 'and lasts at least what was asked');
    const [upload, complete] = children.slice(-2) as [ReceivedSpan, ReceivedSpan];
    assert.equal(upload.attributes['jobhealth.images'], 1);
    assert.ok(complete.start >= upload.end, 'the job is completed after the image is stored');

    for (const body of receiver.bodies()) assert.ok(!body.includes('secret lighthouse'), 'no prompt text in any export');
  });

  test("staff actions are traces linked to the job's; the attempt after a retry continues the job's trace", async () => {
    const { client: alice } = await signedInClient(f.stack, 'alice');
    const { client: admin } = await signedInClient(f.stack, 'admin');
    const job = await createJobInTrace(alice, input);
    const reason = 'a staff note that stays in the audit log';
    for (const action of ['cancel', 'retry'] as const) {
      const outcomes = await runJobActionInTrace(admin, { action, ids: [job.id], reason });
      assert.deepEqual(outcomes.map((o) => o.outcome), ['done'], action);
    }
    await app.forceFlush();
    const create = one(named(receiver.spans(), 'job.create').filter((s) => s.attributes['job.id'] === job.id), 'job.create');
    const actions = named(receiver.spans(), 'job.staff_action');
    assert.deepEqual(actions.map((a) => [a.attributes['jobhealth.action'], a.attributes['jobhealth.done']]), [['cancel', 1], ['retry', 1]]);
    for (const action of actions) {
      assert.notEqual(action.traceId, create.traceId, 'a trace of its own');
      assert.equal(action.parentSpanId, undefined);
      assert.deepEqual(action.links, [{ traceId: create.traceId, spanId: create.spanId }]);
    }

    const invoked = await fetch(`${f.stack.apiUrl}/functions/v1/job-worker`, { method: 'POST', headers: { apikey: f.stack.secretKey }, body: '{}' });
    await invoked.body?.cancel();
    const attempt = await until(
      () => receiver.spans().find((s) => s.name === 'job.attempt' && s.attributes['job.id'] === job.id && s.attributes['job.outcome'] !== undefined),
      { timeoutMs: 60_000, label: "the retried job's attempt" },
    );
    assert.equal(attempt.traceId, create.traceId);
    assert.equal(attempt.parentSpanId, create.spanId);
    assert.equal(attempt.attributes['job.outcome'], 'succeeded');
    for (const body of receiver.bodies()) assert.ok(!body.includes('a staff note'), 'the reason stays in the audit log');
  });
});

describe("the worker's tracing settings", () => {
  test('read from the standard variables; nothing to export without an endpoint, or when switched off', () => {
    const read = (env: Record<string, string>) => readTracingConfig((name) => env[name]);
    assert.equal(read({}), null);
    assert.equal(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }), null);
    assert.equal(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }), null);
    assert.equal(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'always_off' }), null);
    const config = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://api.honeycomb.io/',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=abc%3D,x-other = 1',
      OTEL_SERVICE_NAME: 'worker-eu',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
    })!;
    assert.equal(config.endpoint, 'https://api.honeycomb.io/v1/traces');
    assert.deepEqual(config.headers, { 'x-honeycomb-team': 'abc=', 'x-other': '1' });
    assert.deepEqual([config.serviceName, config.ratio, config.parentBased, config.captureContent], ['worker-eu', 0.25, true, false]);
    assert.equal(read({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })!.endpoint, 'http://collector:4318/custom');
  });

  test('attempts that end while a request is out all join the one request behind it, and every span arrives', async () => {
    const own = await new OtlpReceiver().start();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    try {
      // The receiver holds its answer to the first request until the test lets it go.
      own.http.answer = (res) =>
        void held.then(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        });
      const tracing = createTracing(readTracingConfig((name) => (name === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? own.endpoint : undefined)), { now: Date.now, log: () => {} });
      const finish = (i: number) => {
        tracing.attempt({ id: `job-${i}`, model_id: FLASH, attempt: 1, max_attempts: 3, traceparent: `00-${hex(16)}-${hex(8)}-01` }, undefined, 'w').end('succeeded');
        return tracing.flush();
      };
      const first = finish(0);
      await until(() => own.http.received.length === 1, { label: 'the first request to arrive' });
      const later = [finish(1), finish(2), finish(3)];
      assert.ok(later.every((p) => p === later[0]), 'the flushes made while a request is out are one');
      assert.equal(tracing.buffered, 3);
      release();
      await Promise.all([first, ...later]);
      assert.equal(tracing.buffered, 0);
      assert.deepEqual(own.bodies().map((body) => (body.match(/"name":"job\.attempt"/g) ?? []).length), [1, 3], 'one span, then the three that waited, in one request');
      assert.deepEqual(own.spans().map((s) => s.attributes['job.id']), ['job-0', 'job-1', 'job-2', 'job-3']);
    } finally {
      release();
      await own.stop();
    }
  });

  test('spans are due for a request once 256 wait or the oldest has waited 5 s, whichever comes first', async () => {
    let now = 1_000_000;
    const tracing = createTracing(readTracingConfig((name) => (name === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? 'http://127.0.0.1:9/' : undefined)), {
      now: () => now,
      log: () => {},
      fetch: async () => new Response('{}'),
    });
    const finish = (i: number) =>
      tracing.attempt({ id: `job-${i}`, model_id: FLASH, attempt: 1, max_attempts: 3, traceparent: `00-${hex(16)}-${hex(8)}-01` }, undefined, 'w').end('succeeded');
    assert.equal(tracing.due(), false, 'nothing buffered is never due');
    finish(0);
    now += FLUSH_AFTER_MS - 1;
    finish(1);
    assert.equal(tracing.due(), false);
    now += 1;
    assert.equal(tracing.due(), true, 'the oldest span has waited FLUSH_AFTER_MS');
    await tracing.flush();
    assert.equal(tracing.due(), false, 'the wait starts again with the next span');
    finish(2);
    now += FLUSH_AFTER_MS - 1;
    assert.equal(tracing.due(), false);
    while (tracing.buffered < FLUSH_SPANS) finish(tracing.buffered);
    assert.equal(tracing.due(), true, 'FLUSH_SPANS waiting');
  });

  test('a malformed traceparent is no context at all', () => {
    assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.sampled, true);
    assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled, false);
    for (const bad of ['', 'x', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01']) {
      assert.equal(parseTraceparent(bad), null, bad);
    }
  });

  test("the worker's ratio decision at a root is the OpenTelemetry SDK's, so app and worker keep the same traces", () => {
    const sdk = new TraceIdRatioBasedSampler(0.3);
    let kept = 0;
    for (let i = 0; i < 2000; i++) {
      const traceId = hex(16);
      const theirs = sdk.shouldSample(context.active(), traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      assert.equal(sampled(traceId, { sampled: true, root: true }, { ratio: 0.3, parentBased: true }), theirs, traceId);
      if (theirs) kept++;
    }
    assert.ok(kept > 400 && kept < 800, `about 30 % kept: ${kept} of 2000`);
    // Below a parent, the parent's decision, whatever the ratio.
    assert.equal(sampled(hex(16), { sampled: false, root: false }, { ratio: 1, parentBased: true }), false);
    assert.equal(sampled(hex(16), { sampled: true, root: false }, { ratio: 0, parentBased: true }), true);
  });
});
