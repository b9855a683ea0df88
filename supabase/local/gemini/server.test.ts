import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { ApiError, GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import type { GoogleErrorBody } from './google-errors.ts';
import { MODELS } from './models.ts';
import { startGeminiStandIn, type GeminiStandInStats, type RunningGeminiStandIn } from './server.ts';

const IMAGE_MODEL = 'gemini-2.5-flash-image';
const PRO_IMAGE_MODEL = 'gemini-3-pro-image-preview';

let standIn: RunningGeminiStandIn;
let ai: GoogleGenAI;
before(async () => {
  standIn = await startGeminiStandIn({ port: 0, faults: {}, latency: undefined });
  ai = client();
});
after(async () => {
  await standIn.close();
});
afterEach(async () => {
  standIn.setFaults({});
  await admin('POST', { clearForced: true });
  standIn.resetStats();
});

function client(options: { apiVersion?: string; timeout?: number; apiKey?: string; url?: string } = {}) {
  return new GoogleGenAI({
    apiKey: options.apiKey ?? 'local-test-key',
    ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
    httpOptions: { baseUrl: options.url ?? standIn.url, ...(options.timeout ? { timeout: options.timeout } : {}) },
  });
}

/** Calls the admin endpoint; `T` is the shape of the JSON it answers with. */
async function admin<T = Record<string, unknown>>(method: string, body?: unknown, path = '/__admin/faults') {
  const response = await fetch(`${standIn.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

function generateImage(prompt: string, config: Record<string, unknown> = {}, model = IMAGE_MODEL, sdk = ai) {
  return sdk.models.generateContent({
    model,
    contents: prompt,
    config: { responseModalities: ['TEXT', 'IMAGE'], ...config },
  });
}

function imagePart(response: GenerateContentResponse) {
  return response.candidates?.[0]?.content?.parts?.find((p) => p.inlineData)?.inlineData;
}

/** Everything an image viewer checks: signature, chunk CRCs, IHDR, and that IDAT inflates to the pixel rows. */
function inspectPng(bytes: Buffer) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks: Array<{ type: string; data: Buffer }> = [];
  let offset = 8;
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const crc = bytes.readUInt32BE(offset + 8 + length);
    // node:zlib's CRC-32, not the encoder's own, so a wrong table would be caught.
    assert.equal(crc, zlibCrc32(Buffer.concat([type, data])), `CRC of ${type.toString('latin1')}`);
    chunks.push({ type: type.toString('latin1'), data });
    offset += 12 + length;
  }
  assert.equal(offset, bytes.length, 'no trailing bytes');
  assert.equal(chunks[0]?.type, 'IHDR');
  assert.equal(chunks.at(-1)?.type, 'IEND');
  const ihdr = chunks[0]!.data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  assert.deepEqual([...ihdr.subarray(8)], [8, 2, 0, 0, 0], '8-bit RGB, deflate, no interlace');
  const pixels = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  assert.equal(pixels.length, height * (1 + width * 3), 'one filter byte plus RGB per row');
  return { width, height, pixels };
}

async function apiError(promise: Promise<unknown>): Promise<ApiError & { body: GoogleErrorBody }> {
  const error = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
  // The SDK puts the Google error JSON, unchanged, in the message.
  return Object.assign(error, { body: JSON.parse(error.message) });
}

describe('generating images through the real SDK', () => {
  test('an image model answers with a text part and a valid 1024x1024 PNG, usage and ids', async () => {
    const response = await generateImage('a lighthouse at dusk');
    const candidate = response.candidates?.[0];
    assert.equal(candidate?.finishReason, 'STOP');
    const parts = candidate?.content?.parts ?? [];
    assert.ok(parts.some((p) => typeof p.text === 'string' && p.text.length > 0), 'a short text part');
    const image = imagePart(response);
    assert.equal(image?.mimeType, 'image/png');
    const png = inspectPng(Buffer.from(image!.data!, 'base64'));
    assert.deepEqual([png.width, png.height], [1024, 1024]);
    assert.equal(response.modelVersion, IMAGE_MODEL);
    assert.match(response.responseId ?? '', /^[A-Za-z0-9_-]{16,}$/);
    const usage = response.usageMetadata!;
    assert.ok(usage.promptTokenCount! > 0);
    assert.ok(usage.candidatesTokenCount! >= 1290, 'an image costs 1290 tokens on this model');
    assert.equal(usage.totalTokenCount, usage.promptTokenCount! + usage.candidatesTokenCount!);
    assert.deepEqual(standIn.stats().byModel[IMAGE_MODEL], { ok: 1 });
  });

  test('aspect ratio, image size and model set the pixel size, as on the real models', async () => {
    const size = async (prompt: string, imageConfig: Record<string, string>, model = IMAGE_MODEL) => {
      const png = inspectPng(Buffer.from(imagePart(await generateImage(prompt, { imageConfig }, model))!.data!, 'base64'));
      return [png.width, png.height];
    };
    assert.deepEqual(await size('a wide valley', { aspectRatio: '16:9' }), [1344, 768]);
    assert.deepEqual(await size('a wide valley', { aspectRatio: '16:9' }, PRO_IMAGE_MODEL), [1376, 768], 'the pro model has its own 1K sizes');
    assert.deepEqual(await size('a tall tower', { aspectRatio: '9:16', imageSize: '2K' }, PRO_IMAGE_MODEL), [1536, 2752]);
    assert.deepEqual(await size('a tall tower', { aspectRatio: '9:16', imageSize: '2K' }), [768, 1344], 'the flash model makes 1K only');
  });

  test('setImageSize answers requests that name no size with that size, on the models that take one', async () => {
    standIn.setImageSize('2K');
    try {
      const pro = inspectPng(Buffer.from(imagePart(await generateImage('a big one', {}, PRO_IMAGE_MODEL))!.data!, 'base64'));
      assert.deepEqual([pro.width, pro.height], [2048, 2048]);
      const flash = inspectPng(Buffer.from(imagePart(await generateImage('a big one'))!.data!, 'base64'));
      assert.deepEqual([flash.width, flash.height], [1024, 1024]);
    } finally {
      standIn.setImageSize(undefined);
    }
    assert.throws(() => standIn.setImageSize('8K'), RangeError);
  });

  test('the same prompt gives the same image, another prompt a different one', async () => {
    const [a1, a2, b] = await Promise.all([generateImage('a red fox'), generateImage('a red fox'), generateImage('a blue whale')]);
    assert.equal(imagePart(a1)!.data, imagePart(a2)!.data);
    assert.notEqual(imagePart(a1)!.data, imagePart(b)!.data);
    const pixelsA = inspectPng(Buffer.from(imagePart(a1)!.data!, 'base64')).pixels;
    const pixelsB = inspectPng(Buffer.from(imagePart(b)!.data!, 'base64')).pixels;
    assert.notDeepEqual(pixelsA.subarray(0, 3000), pixelsB.subarray(0, 3000), 'the pixels differ, not just metadata');
  });

  test('IMAGE alone answers with only the image', async () => {
    const response = await generateImage('just the picture', { responseModalities: ['IMAGE'] });
    const parts = response.candidates?.[0]?.content?.parts ?? [];
    assert.equal(parts.length, 1);
    assert.ok(parts[0]?.inlineData);
  });

  test('the /v1 paths of SDK 3.x serve the same API', async () => {
    const v1 = client({ apiVersion: 'v1' });
    const response = await generateImage('a lighthouse at dusk', {}, IMAGE_MODEL, v1);
    assert.ok(imagePart(response));
    const model = await v1.models.get({ model: IMAGE_MODEL });
    assert.equal(model.name, `models/${IMAGE_MODEL}`);
  });

  test('a text model answers with text', async () => {
    const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'say hello' });
    assert.match(response.text ?? '', /say hello/);
    assert.equal(imagePart(response), undefined);
  });
});

describe('rejecting bad requests as Gemini does', () => {
  test('an unsupported aspect ratio is 400 INVALID_ARGUMENT', async () => {
    const error = await apiError(generateImage('x', { imageConfig: { aspectRatio: '7:3' } }));
    assert.equal(error.status, 400);
    assert.equal(error.body.error.code, 400);
    assert.equal(error.body.error.status, 'INVALID_ARGUMENT');
    assert.match(error.body.error.message, /aspect_ratio/);
  });

  test('asking a text model for an image is 400', async () => {
    const error = await apiError(generateImage('x', {}, 'gemini-2.5-flash'));
    assert.equal(error.status, 400);
    assert.match(error.body.error.message, /response modalities: image/);
  });

  test('empty contents, unknown fields and broken JSON are 400 in Google error shape', async () => {
    const post = (body: string) =>
      fetch(`${standIn.url}/v1beta/models/${IMAGE_MODEL}:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
        body,
      });
    for (const [body, message] of [
      [JSON.stringify({ contents: [] }), /contents is not specified/],
      [JSON.stringify({ contents: [{ parts: [] }] }), /parts must not be empty/],
      [JSON.stringify({ contents: [{ parts: [{}] }] }), /required oneof field 'data'/],
      [JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }], prompt: 'x' }), /Unknown name "prompt"/],
      [JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseModalities: ['PICTURE'] } }), /response_modalities\[0\]/],
      ['{"contents": [', /Invalid JSON payload/],
    ] as const) {
      const response = await post(body);
      assert.equal(response.status, 400, body);
      const json = await response.json();
      assert.equal(json.error.status, 'INVALID_ARGUMENT');
      assert.equal(json.error.code, 400);
      assert.match(json.error.message, message);
    }
    assert.equal(standIn.stats().byModel[IMAGE_MODEL]?.invalidArgument, 6);
  });

  test('no API key is 403 PERMISSION_DENIED; a wrong one, when a key is configured, 400 API_KEY_INVALID', async () => {
    const response = await fetch(`${standIn.url}/v1beta/models`);
    assert.equal(response.status, 403);
    assert.equal((await response.json()).error.status, 'PERMISSION_DENIED');

    const strict = await startGeminiStandIn({ port: 0, apiKey: 'the-right-key', faults: {} });
    try {
      const error = await apiError(generateImage('x', {}, IMAGE_MODEL, client({ url: strict.url, apiKey: 'a-wrong-key' })));
      assert.equal(error.status, 400);
      assert.equal(error.body.error.details?.[0]?.reason, 'API_KEY_INVALID');
      const ok = await generateImage('x', {}, IMAGE_MODEL, client({ url: strict.url, apiKey: 'the-right-key' }));
      assert.ok(imagePart(ok));
    } finally {
      await strict.close();
    }
  });

  test('an unknown model is 404 NOT_FOUND for generateContent and for get', async () => {
    const generate = await apiError(generateImage('x', {}, 'gemini-9-imaginary'));
    assert.equal(generate.status, 404);
    assert.equal(generate.body.error.status, 'NOT_FOUND');
    assert.match(generate.body.error.message, /^models\/gemini-9-imaginary is not found for API version v1beta, or is not supported for generateContent/);
    const get = await apiError(ai.models.get({ model: 'gemini-9-imaginary' }));
    assert.equal(get.status, 404);
    assert.match(get.body.error.message, /models\/gemini-9-imaginary is not found/);
  });

});

describe('models', () => {
  test('get returns the model resource', async () => {
    const model = await ai.models.get({ model: PRO_IMAGE_MODEL });
    assert.equal(model.name, `models/${PRO_IMAGE_MODEL}`);
    assert.equal(model.displayName, 'Nano Banana Pro');
    assert.ok(model.supportedActions?.includes('generateContent'));
    assert.ok((model.inputTokenLimit ?? 0) > 0);
    assert.equal(standIn.stats().modelsGet, 1);
  });

  test('list pages through every model with page tokens', async () => {
    const names: string[] = [];
    const pager = await ai.models.list({ config: { pageSize: 4 } });
    for await (const model of pager) names.push(model.name!);
    assert.deepEqual(names, MODELS.map((m) => m.resource.name));
    assert.equal(standIn.stats().modelsList, Math.ceil(MODELS.length / 4));
  });
});

describe('faults as the SDK reports them', () => {
  test('429 is ApiError 429 RESOURCE_EXHAUSTED with RetryInfo in the body and Retry-After', async () => {
    standIn.force({ outcome: 'rate429', count: 2 });
    const error = await apiError(generateImage('x'));
    assert.equal(error.status, 429);
    assert.equal(error.body.error.status, 'RESOURCE_EXHAUSTED');
    const retryInfo = error.body.error.details?.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo');
    assert.equal(retryInfo?.retryDelay, '7s');
    // The SDK does not expose headers on ApiError; a raw call shows the header.
    const raw = await fetch(`${standIn.url}/v1beta/models/${IMAGE_MODEL}:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k', 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }] }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '7');
    assert.deepEqual(standIn.stats().byModel[IMAGE_MODEL], { rate429: 2 });
  });

  test('500 and 503 are ApiError with status 500 INTERNAL and 503 UNAVAILABLE', async () => {
    standIn.force({ outcome: 'error500' });
    standIn.force({ outcome: 'error503' });
    const internal = await apiError(generateImage('x'));
    assert.equal(internal.status, 500);
    assert.equal(internal.body.error.status, 'INTERNAL');
    const unavailable = await apiError(generateImage('x'));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.body.error.status, 'UNAVAILABLE');
  });

  test('a hung call is cut by httpOptions.timeout as an AbortError, and its socket is released', async () => {
    standIn.force({ outcome: 'hang' });
    const error = await generateImage('x', {}, IMAGE_MODEL, client({ timeout: 300 })).then(
      () => assert.fail('a hung call cannot succeed'),
      (e: Error) => e,
    );
    assert.equal(error.name, 'AbortError');
    assert.ok(!(error instanceof ApiError));
    // The abort reaches the server as a closed socket; nothing signals that to the test.
    const deadline = Date.now() + 5000;
    while (standIn.stats().hanging > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(standIn.stats().hanging, 0);
    assert.equal(standIn.stats().clientAborts, 1);
    // The next call is answered normally.
    assert.ok(imagePart(await generateImage('x')));
  });

  test('a hung call is cut by the caller abortSignal', async () => {
    standIn.force({ outcome: 'hang' });
    const controller = new AbortController();
    const call = generateImage('x', { abortSignal: controller.signal });
    const deadline = Date.now() + 5000;
    while (standIn.stats().hanging === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    controller.abort();
    const error = await call.then(
      () => assert.fail('aborted'),
      (e: Error) => e,
    );
    assert.equal(error.name, 'AbortError');
  });

  test('close() releases hung calls instead of waiting for them', async () => {
    const own = await startGeminiStandIn({ port: 0, faults: {} });
    own.force({ outcome: 'hang', count: 3 });
    const sdk = client({ url: own.url });
    const calls = [1, 2, 3].map(() => generateImage('x', {}, IMAGE_MODEL, sdk).then(() => 'answered', (e: Error) => e));
    const deadline = Date.now() + 5000;
    while (own.stats().hanging < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(own.stats().hanging, 3);
    await own.close();
    for (const result of await Promise.all(calls)) {
      assert.ok(result instanceof Error, 'each hung call fails once the server is gone');
      assert.ok(!(result instanceof ApiError));
    }
  });

  test('a blocked prompt is a 200 with promptFeedback.blockReason and no candidates', async () => {
    standIn.force({ outcome: 'blocked' });
    const response = await generateImage('x');
    assert.equal(response.candidates, undefined);
    assert.equal(response.promptFeedback?.blockReason, 'SAFETY');
    assert.equal(imagePart(response), undefined);
  });

  test('a withheld image is a candidate with finishReason IMAGE_SAFETY and no parts', async () => {
    standIn.force({ outcome: 'imageSafety' });
    const response = await generateImage('x');
    assert.equal(response.candidates?.[0]?.finishReason, 'IMAGE_SAFETY');
    assert.equal(response.candidates?.[0]?.content?.parts, undefined);
  });

  test('no image is a 200 with text only', async () => {
    standIn.force({ outcome: 'noImage' });
    const response = await generateImage('x');
    assert.equal(response.candidates?.[0]?.finishReason, 'STOP');
    assert.equal(imagePart(response), undefined);
    assert.ok((response.text ?? '').length > 0);
  });

  test('an answer without candidates has neither candidates nor promptFeedback', async () => {
    standIn.force({ outcome: 'noCandidates' });
    const response = await generateImage('x');
    assert.equal(response.candidates, undefined);
    assert.equal(response.promptFeedback, undefined);
    assert.ok(response.usageMetadata);
  });

  test('a malformed body surfaces as a SyntaxError from the SDK, not an ApiError', async () => {
    standIn.force({ outcome: 'malformed' });
    const error = await generateImage('x').then(
      () => assert.fail('malformed JSON cannot parse'),
      (e: Error) => e,
    );
    assert.ok(error instanceof SyntaxError, `got ${error}`);
  });

  test('a per-model rate faults only that model', async () => {
    standIn.setFaults({ models: { [PRO_IMAGE_MODEL]: { error503: 1 } } });
    for (let i = 0; i < 3; i++) {
      assert.equal((await apiError(generateImage('x', {}, PRO_IMAGE_MODEL))).status, 503);
      assert.ok(imagePart(await generateImage('x')));
    }
    const stats = standIn.stats();
    assert.deepEqual(stats.byModel[PRO_IMAGE_MODEL], { error503: 3 });
    assert.deepEqual(stats.byModel[IMAGE_MODEL], { ok: 3 });
    assert.deepEqual(stats.byOutcome, { error503: 3, ok: 3 });
  });

  test('a forced outcome for one model leaves the others alone', async () => {
    standIn.force({ outcome: 'error500', model: PRO_IMAGE_MODEL });
    assert.ok(imagePart(await generateImage('x')));
    assert.equal((await apiError(generateImage('x', {}, PRO_IMAGE_MODEL))).status, 500);
    assert.ok(imagePart(await generateImage('x', {}, PRO_IMAGE_MODEL)));
  });

  test('the same seed and rates serve the same sequence of outcomes', async () => {
    const run = async () => {
      standIn.setFaults({ seed: 1234, rate429: 0.3, error500: 0.2 });
      standIn.resetStats();
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        statuses.push(await generateImage('x').then(() => 200, (e: ApiError) => e.status));
      }
      return statuses;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.some((s) => s !== 200), `a mix of outcomes: ${first}`);
  });
});

describe('admin endpoint', () => {
  test('POST /__admin/faults forces the next N answers; GET /__admin/stats counts them', async () => {
    const set = await admin('POST', { force: { outcome: 'error500', count: 2 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.forced, [{ outcome: 'error500', count: 2 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push(await generateImage('x').then(() => 200, (e: ApiError) => e.status));
    assert.deepEqual(statuses, [500, 500, 200]);
    const stats = await admin<GeminiStandInStats>('GET', undefined, '/__admin/stats');
    assert.deepEqual(stats.body.byModel[IMAGE_MODEL], { error500: 2, ok: 1 });
    assert.equal(stats.body.generateContent, 3);
  });

  test('rates set by POST apply, and DELETE clears them', async () => {
    assert.equal((await admin('POST', { error503: 1 })).status, 200);
    assert.equal((await apiError(generateImage('x'))).status, 503);
    assert.equal((await admin('DELETE')).status, 200);
    assert.ok(imagePart(await generateImage('x')));
  });

  test('an invalid configuration is refused and changes nothing', async () => {
    standIn.setFaults({ noImage: 1 });
    for (const body of [{ rate429: 2 }, { teapot: 0.5 }, { error500: 0.6, error503: 0.6 }, { force: { outcome: 'explode' } }, { latency: { p50: 10, p99: 1 } }]) {
      const response = await admin('POST', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(typeof response.body.error, 'string');
    }
    const current = await admin('GET');
    assert.equal(current.body.noImage, 1);
    assert.deepEqual(current.body.forced, []);
  });
});
