import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  FaultConfigError,
  FaultPlan,
  faultsFromEnv,
  parseFaultConfig,
  parseForcedOutcome,
  type FaultConfig,
  type ForcedOutcome,
  type Outcome,
} from './faults.ts';
import { parseGenerateRequest } from './generate-request.ts';
import { buildGenerateResponse, type SuccessOutcome } from './generate-response.ts';
import {
  apiKeyInvalid,
  apiKeyMissing,
  GoogleApiError,
  internalError,
  invalidArgument,
  modelNotFound,
  notFound,
  resourceExhausted,
  unavailable,
} from './google-errors.ts';
import { LatencySampler, latencyFromEnv, parseLatency, type LatencyConfig } from './latency.ts';
import { IMAGE_SIZES } from './image.ts';
import { findModel, MODELS } from './models.ts';

/**
 * A local stand-in for the Gemini API (generativelanguage.googleapis.com), close enough that
 * the official `@google/genai` SDK talks to it unchanged through `httpOptions.baseUrl`: the
 * same paths under /v1beta (SDK 2.x) and /v1 (SDK 3.x), the same request validation, response
 * and error shapes. It injects the faults production shows (429 with a retry delay, 500, 503,
 * calls that never answer, safety blocks, answers without an image, broken bodies) by rate or
 * on demand, and counts what it served so tests and benchmarks can assert on it.
 *
 * Admin endpoints (no API key; the stand-in only listens on loopback by default):
 *   GET    /__admin/faults   current rates, forced queue and latency
 *   POST   /__admin/faults   body: fault rates as in GEMINI_STANDIN_FAULTS (replace the rates
 *                            when any is given), plus optional `force: {outcome, count?, model?}`
 *                            (or a list), `clearForced: true`, `latency: {p50, p99} | null`
 *   DELETE /__admin/faults   no faults, nothing forced, no latency
 *   GET    /__admin/stats    what was served, per model and outcome
 *   DELETE /__admin/stats    zero the counters
 */
export interface GeminiStandInOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Defaults to GEMINI_STANDIN_FAULTS / GEMINI_STANDIN_SEED from the environment, else none. */
  faults?: FaultConfig;
  /** Defaults to GEMINI_STANDIN_LATENCY_MS from the environment, else no added latency. */
  latency?: LatencyConfig;
  /** When set, only this API key is accepted (others get Google's API_KEY_INVALID); else any non-empty key. */
  apiKey?: string;
  log?: (line: string) => void;
}

/** Per model: how many calls ended in each outcome (`ok`, a fault, or a rejection). */
export type Rejection = 'invalidArgument' | 'notFound' | 'unauthenticated';
export interface GeminiStandInStats {
  /** Every HTTP request to the API paths, admin excluded. */
  requests: number;
  generateContent: number;
  byModel: Record<string, Partial<Record<Outcome | Rejection, number>>>;
  byOutcome: Partial<Record<Outcome | Rejection, number>>;
  modelsGet: number;
  modelsList: number;
  /** Calls the client gave up on before an answer (timeouts, aborts), hangs included. */
  clientAborts: number;
  /** Calls currently held open by the `hang` fault. */
  hanging: number;
  /** Bytes of PNG served. */
  imageBytes: number;
}

export interface RunningGeminiStandIn {
  /** Base URL for `httpOptions.baseUrl` (no trailing slash, no API version). */
  url: string;
  port: number;
  /** Replaces the fault rates (and reseeds); forced outcomes already queued are kept. */
  setFaults(config: FaultConfig): void;
  /** The next `count` calls (to `model`, or any) get `outcome`, ahead of any rate. */
  force(forced: ForcedOutcome): void;
  setLatency(latency: LatencyConfig | undefined): void;
  /**
   * The image size answered when a request names none (undefined: the model's default, 1K),
   * for models that take one. A test control: the worker asks for the default size, and the
   * benchmarks and the memory check need it to receive 2K and 4K images.
   */
  setImageSize(imageSize: string | undefined): void;
  stats(): GeminiStandInStats;
  resetStats(): void;
  /** Stops listening and releases every open socket, hung calls included. */
  close(): Promise<void>;
}

const API_PATH = /^\/(v1|v1beta)\/models(?:\/([^/:]+)(?::([A-Za-z]+))?)?\/?$/;
/** The real API's cap on a request body (inline images included). */
const MAX_REQUEST_BYTES = 20 * 1024 * 1024;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

function emptyStats(): GeminiStandInStats {
  return {
    requests: 0,
    generateContent: 0,
    byModel: {},
    byOutcome: {},
    modelsGet: 0,
    modelsList: 0,
    clientAborts: 0,
    hanging: 0,
    imageBytes: 0,
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new GoogleApiError(413, 'INVALID_ARGUMENT', `Request payload size exceeds the limit: ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJsonText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    vary: 'Origin, X-Origin, Referer',
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: GoogleApiError) {
  sendJsonText(res, error.code, JSON.stringify(error.body(), null, 2), error.headers);
}

export async function startGeminiStandIn(options: GeminiStandInOptions): Promise<RunningGeminiStandIn> {
  const log = options.log ?? (() => {});
  const initialFaults = options.faults ?? faultsFromEnv(process.env) ?? {};
  const plan = new FaultPlan(initialFaults);
  const latency = new LatencySampler(options.latency ?? latencyFromEnv(process.env), initialFaults.seed ?? 0);
  let stats = emptyStats();
  let imageSize: string | undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<ServerResponse>();

  const count = (model: string, outcome: Outcome | Rejection) => {
    const perModel = (stats.byModel[model] ??= {});
    perModel[outcome] = (perModel[outcome] ?? 0) + 1;
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
  };

  /** True when the client went away before the response was written (timeout, abort). */
  const aborted = (res: ServerResponse) => res.destroyed || res.socket === null || res.socket.destroyed;

  /** Waits `ms`, or less if the client leaves; resolves false when it left. */
  const delay = (res: ServerResponse, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (ms <= 0) return resolve(!aborted(res));
      const onClose = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(!aborted(res));
      }, ms);
      timers.add(timer);
      res.once('close', onClose);
    });

  const applyAdmin = (body: unknown) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new FaultConfigError('body must be a JSON object');
    }
    const { force, clearForced, latency: latencyValue, ...rest } = body as Record<string, unknown>;
    // Validate everything before changing anything, so a bad request leaves the state intact.
    const faults = Object.keys(rest).length > 0 ? parseFaultConfig(rest) : undefined;
    const forced = force === undefined ? [] : (Array.isArray(force) ? force : [force]).map(parseForcedOutcome);
    const newLatency = latencyValue === undefined ? undefined : { value: parseLatency(latencyValue) };
    if (clearForced === true) plan.clearForced();
    if (faults) plan.set(faults);
    for (const f of forced) plan.force(f);
    if (newLatency) latency.set(newLatency.value);
  };

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const describe = () => ({ ...plan.describe(), latency: latency.current ?? null });
    if (path === '/__admin/faults') {
      if (req.method === 'GET') return sendJsonText(res, 200, JSON.stringify(describe()));
      if (req.method === 'DELETE') {
        plan.set({});
        plan.clearForced();
        latency.set(undefined);
        return sendJsonText(res, 200, JSON.stringify(describe()));
      }
      if (req.method === 'POST') {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}');
          applyAdmin(body);
        } catch (error) {
          const message = error instanceof SyntaxError ? 'body is not JSON' : (error as Error).message;
          return sendJsonText(res, 400, JSON.stringify({ error: message }));
        }
        log(`gemini stand-in: faults now ${JSON.stringify(describe())}`);
        return sendJsonText(res, 200, JSON.stringify(describe()));
      }
    }
    if (path === '/__admin/stats') {
      if (req.method === 'GET') return sendJsonText(res, 200, JSON.stringify(snapshot()));
      if (req.method === 'DELETE') {
        stats = emptyStats();
        return sendJsonText(res, 200, JSON.stringify(snapshot()));
      }
    }
    sendJsonText(res, 404, JSON.stringify({ error: 'unknown admin endpoint' }));
  };

  const snapshot = (): GeminiStandInStats => ({ ...structuredClone(stats), hanging: hanging.size });

  const listModels = (url: URL, res: ServerResponse) => {
    const pageSizeParam = url.searchParams.get('pageSize');
    let pageSize = DEFAULT_PAGE_SIZE;
    if (pageSizeParam !== null) {
      pageSize = Number(pageSizeParam);
      if (!Number.isInteger(pageSize) || pageSize < 0) throw invalidArgument(`Invalid value at 'page_size' (TYPE_INT32), "${pageSizeParam}"`);
      if (pageSize === 0) pageSize = DEFAULT_PAGE_SIZE;
      pageSize = Math.min(pageSize, MAX_PAGE_SIZE);
    }
    let offset = 0;
    const token = url.searchParams.get('pageToken');
    if (token) {
      // Page tokens are opaque to clients; ours is the offset, base64url-encoded.
      const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 0 || decoded > MODELS.length) throw invalidArgument('Invalid page token.');
      offset = decoded;
    }
    const page = MODELS.slice(offset, offset + pageSize).map((m) => m.resource);
    const next = offset + pageSize;
    stats.modelsList += 1;
    sendJsonText(
      res,
      200,
      JSON.stringify({
        models: page,
        ...(next < MODELS.length ? { nextPageToken: Buffer.from(String(next)).toString('base64url') } : {}),
      }),
    );
  };

  const generate = async (req: IncomingMessage, res: ServerResponse, modelId: string, apiVersion: string, method: string) => {
    stats.generateContent += 1;
    const model = findModel(modelId);
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    if (!model) {
      count(modelId, 'notFound');
      throw modelNotFound(modelId, apiVersion, method);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      count(modelId, 'invalidArgument');
      throw invalidArgument('Invalid JSON payload received. Unexpected token.');
    }
    let request;
    try {
      request = parseGenerateRequest(body, model);
    } catch (error) {
      count(modelId, 'invalidArgument');
      throw error;
    }

    const outcome = plan.next(modelId);
    count(modelId, outcome);
    if (outcome === 'rate429') throw resourceExhausted(modelId, plan.retryAfterSeconds);
    if (outcome === 'hang') {
      // Never answer. The socket is released when the client gives up or on close().
      hanging.add(res);
      res.once('close', () => {
        hanging.delete(res);
        stats.clientAborts += 1;
      });
      return;
    }
    if (!(await delay(res, latency.next()))) {
      stats.clientAborts += 1;
      return;
    }
    if (outcome === 'error500') throw internalError();
    if (outcome === 'error503') throw unavailable();
    const built = buildGenerateResponse(outcome as SuccessOutcome, model, request, imageSize);
    stats.imageBytes += built.imageBytes ?? 0;
    if (method === 'streamGenerateContent') {
      // One server-sent event carrying the whole answer: Gemini image models stream the image
      // as a single chunk, and the SDK's SSE reader accepts exactly this framing.
      const text = `data: ${built.text}\r\n\r\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    sendJsonText(res, 200, built.text, { 'server-timing': `gfet4t7; dur=${Math.round(latency.current?.p50 ?? 0)}` });
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    stats.requests += 1;
    const match = API_PATH.exec(url.pathname);
    if (!match) throw notFound();
    const [, apiVersion, rawModel, method] = match as unknown as [string, string, string | undefined, string | undefined];
    const modelId = rawModel === undefined ? undefined : decodeURIComponent(rawModel);

    const key = (req.headers['x-goog-api-key'] as string | undefined) ?? url.searchParams.get('key') ?? '';
    if (!key) {
      count(modelId ?? '(list)', 'unauthenticated');
      throw apiKeyMissing();
    }
    if (options.apiKey !== undefined && key !== options.apiKey) {
      count(modelId ?? '(list)', 'unauthenticated');
      throw apiKeyInvalid();
    }

    if (modelId === undefined) {
      if (req.method !== 'GET') throw notFound();
      return listModels(url, res);
    }
    if (method === undefined) {
      if (req.method !== 'GET') throw notFound();
      stats.modelsGet += 1;
      const model = findModel(modelId);
      if (!model) {
        count(modelId, 'notFound');
        throw modelNotFound(modelId, apiVersion, 'get');
      }
      return sendJsonText(res, 200, JSON.stringify(model.resource));
    }
    if ((method === 'generateContent' || method === 'streamGenerateContent') && req.method === 'POST') {
      return generate(req, res, modelId, apiVersion, method);
    }
    throw notFound();
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    try {
      if (url.pathname.startsWith('/__admin/')) return await handleAdmin(req, res, url.pathname);
      await handleApi(req, res, url);
    } catch (error) {
      if (res.headersSent || aborted(res)) return;
      if (error instanceof GoogleApiError) return sendError(res, error);
      log(`gemini stand-in: ${req.method} ${url.pathname} failed: ${(error as Error).stack ?? error}`);
      sendError(res, internalError());
    }
  };

  const server = http.createServer((req, res) => void onRequest(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    setFaults: (config) => plan.set(parseFaultConfig(config)),
    force: (forced) => plan.force(parseForcedOutcome(forced)),
    setLatency: (value) => latency.set(parseLatency(value)),
    setImageSize: (value) => {
      if (value !== undefined && !IMAGE_SIZES.includes(value)) throw new RangeError(`image size must be one of ${IMAGE_SIZES.join(', ')}`);
      imageSize = value;
    },
    stats: snapshot,
    resetStats: () => {
      stats = emptyStats();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hung calls and keep-alive connections would hold close() open forever.
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
