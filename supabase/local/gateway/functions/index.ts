import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config, repoRoot } from '../../config.ts';
import { JwtError } from '../../jwt.ts';
import { freePort } from '../../postgres.ts';
import { bearerToken, HttpError, readBody, type GatewayContext, type GatewayService } from '../http.ts';

/**
 * `/functions/v1/<name>`: Supabase Edge Functions served from real Deno. Each function runs in
 * its own Deno process(es) started on first use, behind edge-runtime.ts, with the environment
 * the hosted runtime provides (SUPABASE_URL, SUPABASE_PUBLISHABLE_KEYS, SUPABASE_SECRET_KEYS,
 * SUPABASE_JWKS, SUPABASE_DB_URL, and the legacy key variables while legacy keys are on) plus
 * the stack's secrets. As on Supabase, the caller's JWT is verified before the function sees
 * the request unless the function's `verify_jwt` is off in config.toml, the heap is capped at
 * the hosted 256 MB, and a request past the wall-clock limit is cut.
 */
export interface FunctionsOptions {
  /** Functions whose verify_jwt is off (config.toml `[functions.<name>] verify_jwt = false`). */
  noVerifyJwt?: string[];
  /** Folder holding `<name>/index.ts`; default supabase/functions. */
  dir?: string;
  /** Extra environment for every function (secrets such as GEMINI_API_KEY). */
  env?: Record<string, string>;
  /** Deno processes per function; requests go to the least busy one. */
  instances?: number;
  /** Hosted limit: 150 s on the free plan, 400 s on paid plans. */
  wallClockMs?: number;
  memoryMb?: number;
  log?: (line: string) => void;
}

const denoBinary = path.join(repoRoot, 'node_modules', 'deno', os.platform() === 'win32' ? 'deno.exe' : 'deno');
const runtimeEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'edge-runtime.ts');
/** npm: packages fetched by Deno are cached here across runs (not in .local: tests share it). */
const denoCacheDir = path.join(os.tmpdir(), 'jobhealth-deno-cache');
const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * How Deno reaches the npm registry on this machine. Deno trusts only its bundled Mozilla roots
 * unless told otherwise; behind a TLS-inspecting proxy (common on company networks and CI
 * runners) every `npm:` download then fails with "invalid peer certificate: UnknownIssuer".
 * So the system store is trusted too, and the machine's CA and proxy settings pass through.
 * Nothing else of the gateway's environment reaches a function.
 */
const NETWORK_ENV = ['DENO_CERT', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

function denoBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    DENO_DIR: denoCacheDir,
    DENO_NO_UPDATE_CHECK: '1',
    DENO_TLS_CA_STORE: process.env.DENO_TLS_CA_STORE ?? 'mozilla,system',
    NO_COLOR: '1',
  };
  for (const name of NETWORK_ENV) if (process.env[name]) env[name] = process.env[name]!;
  return env;
}

const cached = new Map<string, Promise<void>>();

/** One Deno command, not blocking the gateway's event loop; its output kept for the error. */
function runDeno(args: string[], keepStdout = false): Promise<{ ok: boolean; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(denoBinary, args, { env: denoBaseEnv() as NodeJS.ProcessEnv, stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', (error) => output += error.message);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output: output.trim(), stdout });
    });
  });
}

/**
 * Fetches a function's `npm:` dependencies into the shared Deno cache before its first start
 * (`deno cache`, once per process and function; a no-op in about 20 ms once cached). Without
 * it, several instances starting together on a cold cache all download at once and the first
 * requests time out; with it, a registry hiccup (a DNS lookup failing) is retried instead of
 * failing the function's boot. Safe to call from concurrent processes: Deno locks its cache.
 */
export function cacheFunctionDependencies(name: string, dir = path.join(repoRoot, 'supabase', 'functions'), log: (line: string) => void = () => {}): Promise<void> {
  const entry = path.join(dir, name, 'index.ts');
  let pending = cached.get(entry);
  if (!pending) {
    pending = (async () => {
      const denoJson = path.join(dir, name, 'deno.json');
      const args = ['cache', '--quiet', ...(fs.existsSync(denoJson) ? ['--config', denoJson] : []), entry];
      let output = '';
      for (let attempt = 1; attempt <= 4; attempt++) {
        const result = await runDeno(args);
        if (result.ok) return;
        output = result.output;
        log(`[${name}] fetching dependencies failed (try ${attempt} of 4): ${output.split('\n').find((l) => l.trim()) ?? ''}`);
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
      throw new Error(`could not fetch the npm dependencies of function "${name}": ${output.split('\n').slice(0, 4).join(' ')}`);
    })();
    pending.catch(() => cached.delete(entry));
    cached.set(entry, pending);
  }
  return pending;
}

/** Fetches the dependencies of every function under `dir`. */
export async function cacheAllFunctionDependencies(log?: (line: string) => void, dir = path.join(repoRoot, 'supabase', 'functions')) {
  const names = functionNames(dir);
  for (const name of names) await cacheFunctionDependencies(name, dir, log);
  return names;
}

/** The files a function deploys: every `.ts` in its folder (tests and fixtures live in supabase/tests). */
export function deployedFiles(name: string, dir = path.join(repoRoot, 'supabase', 'functions')): string[] {
  const folder = path.join(dir, name);
  return fs.readdirSync(folder).filter((f) => f.endsWith('.ts')).sort().map((f) => path.join(folder, f));
}

/**
 * Type-checks a function with Deno's own checker and its own deno.json and lockfile (`--frozen`:
 * a dependency that drifted from deno.lock is an error), as the hosted runtime will load it.
 */
export async function checkFunction(name: string, dir = path.join(repoRoot, 'supabase', 'functions'), log?: (line: string) => void) {
  await cacheFunctionDependencies(name, dir, log);
  const denoJson = path.join(dir, name, 'deno.json');
  const files = deployedFiles(name, dir);
  const config = fs.existsSync(denoJson) ? ['--config', denoJson] : [];
  const result = await runDeno(['check', '--frozen', '--quiet', ...config, ...files]);
  if (!result.ok) return { ...result, files };
  // `supabase functions deploy` uploads the files under supabase/functions and nothing above it
  // (a relative import that climbs out fails to deploy: supabase/cli#3467), so a local module
  // outside that folder, even one imported only for its types, is an error here, not at deploy.
  const outside: string[] = [];
  for (const file of files) {
    const info = await runDeno(['info', '--json', ...config, file], true);
    if (!info.ok) return { ...info, files };
    const graph = JSON.parse(info.stdout) as { modules: { specifier: string }[] };
    for (const { specifier } of graph.modules) {
      if (!specifier.startsWith('file:')) continue;
      const local = fileURLToPath(specifier);
      if (path.relative(dir, local).startsWith('..') && !outside.includes(local)) outside.push(local);
    }
  }
  if (outside.length) {
    const list = outside.map((f) => `  ${path.relative(repoRoot, f)}`).join('\n');
    return { ok: false, output: `imports from outside supabase/functions, which deploy cannot upload (share code through supabase/functions/_shared):\n${list}`, files };
  }
  return { ...result, files };
}

/** Every function under `dir`: folders named like a function, with an index.ts. */
export function functionNames(dir = path.join(repoRoot, 'supabase', 'functions')): string[] {
  return fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((name) => FUNCTION_NAME.test(name) && fs.existsSync(path.join(dir, name, 'index.ts')))
    : [];
}

interface Instance {
  process: ChildProcess;
  port: number;
  ready: Promise<void>;
  inflight: number;
  exited: boolean;
}

export interface FunctionsService extends GatewayService {
  /** Live Deno process ids of a function (for tests that kill workers). */
  pids(name: string): number[];
}

export function createFunctionsService(ctx: GatewayContext, options: FunctionsOptions = {}): FunctionsService {
  const dir = options.dir ?? path.join(repoRoot, 'supabase', 'functions');
  const maxInstances = options.instances ?? 1;
  const wallClockMs = options.wallClockMs ?? 150_000;
  const log = options.log ?? ctx.log;
  // The project's own functions follow config.toml; a folder of other functions, the option.
  const noVerifyJwt = new Set(
    options.noVerifyJwt ??
      (options.dir ? [] : Object.entries(config().functions).filter(([, f]) => !f.verifyJwt).map(([name]) => name)),
  );
  const pools = new Map<string, Instance[]>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const spawnInstance = async (name: string): Promise<Instance> => {
    const port = await freePort();
    const { keys } = ctx;
    const env: Record<string, string> = {
      ...denoBaseEnv(),
      SUPABASE_URL: ctx.apiUrl(),
      // As hosted: JSON objects of named keys, and the public JWKS to verify user tokens with.
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
      SUPABASE_JWKS: JSON.stringify(keys.tokens.jwks),
      ...(keys.anonKey && keys.serviceRoleKey
        ? { SUPABASE_ANON_KEY: keys.anonKey, SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey }
        : {}),
      SUPABASE_DB_URL: ctx.dbUrl,
      ...options.env,
      JOBHEALTH_FUNCTION_PORT: String(port),
      JOBHEALTH_FUNCTION_ENTRY: `file://${path.join(dir, name, 'index.ts')}`,
    };
    const denoJson = path.join(dir, name, 'deno.json');
    const args = [
      'run',
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      // As hosted: the function may write only to the temp folder.
      `--allow-write=${os.tmpdir()}`,
      '--no-prompt',
      `--v8-flags=--max-old-space-size=${options.memoryMb ?? 256}`,
      ...(fs.existsSync(denoJson) ? ['--config', denoJson] : []),
      runtimeEntry,
    ];
    // Only what the hosted runtime exposes: the gateway's own environment does not leak in.
    const child = spawn(denoBinary, args, { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const instance: Instance = { process: child, port, inflight: 0, exited: false, ready: Promise.resolve() };
    instance.ready = new Promise<void>((resolve, reject) => {
      let output = '';
      const onLine = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output = (output + text).slice(-4000);
        for (const line of text.split('\n')) if (line.trim()) log(`[${name}] ${line}`);
        if (text.includes(`edge-runtime listening ${port}`)) resolve();
      };
      child.stdout!.on('data', onLine);
      child.stderr!.on('data', onLine);
      child.once('exit', (code, signal) => {
        instance.exited = true;
        const pool = pools.get(name);
        if (pool) pools.set(name, pool.filter((i) => i !== instance));
        reject(new HttpError(503, { code: 'BOOT_ERROR', message: `Function failed to start (${code ?? signal}): ${output.trim().split('\n').pop() ?? ''}` }));
      });
    });
    instance.ready.catch(() => {});
    return instance;
  };

  const pick = async (name: string): Promise<Instance> => {
    // Every request waits here for the same download, before any instance is counted.
    await cacheFunctionDependencies(name, dir, log).catch((error: Error) => {
      throw new HttpError(503, { code: 'BOOT_ERROR', message: `Function failed to start: ${error.message}` });
    });
    let pool = pools.get(name);
    if (!pool) pools.set(name, (pool = []));
    // A process can be dead before its exit event has been handled: ask it directly too.
    const live = pool.filter((i) => !i.exited && i.process.exitCode === null && i.process.signalCode === null);
    const idle = live.find((i) => i.inflight === 0);
    if (idle) return idle;
    if (live.length < maxInstances) {
      const instance = await spawnInstance(name);
      pool.push(instance);
      return instance;
    }
    return live.reduce((a, b) => (b.inflight < a.inflight ? b : a));
  };

  const forward = (instance: Instance, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const headers = { ...req.headers, host: `127.0.0.1:${instance.port}`, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = http.request(
        { host: '127.0.0.1', port: instance.port, method: req.method, path, headers, agent },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
          reply.once('end', resolve);
          reply.once('error', reject);
        },
      );
      const timer = setTimeout(() => {
        upstream.destroy(new HttpError(546, { code: 'WORKER_LIMIT', message: 'Function exceeded the wall clock limit' }));
      }, wallClockMs);
      upstream.once('close', () => clearTimeout(timer));
      upstream.once('error', (error: NodeJS.ErrnoException) => reject(error));
      upstream.end(body);
    });

  const exitedWithin = (instance: Instance, ms: number) =>
    new Promise<void>((resolve) => {
      if (instance.exited || instance.process.exitCode !== null || instance.process.signalCode !== null) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        instance.process.off('exit', done);
        resolve();
      }
      instance.process.once('exit', done);
    });

  /** Runs the request on an instance; a refused connection (it died in between) gets one fresh instance. */
  const dispatch = async (name: string, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer) => {
    for (let attempt = 1; ; attempt++) {
      const instance = await pick(name);
      instance.inflight += 1;
      try {
        await instance.ready;
        await forward(instance, req, res, path, body);
        return;
      } catch (error) {
        const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED' && !res.headersSent;
        if (refused) instance.exited = true;
        if (refused && attempt === 1) continue;
        // A connection cut mid-request is most often the process dying (a crash, an exit, the
        // memory limit). Its exit can be handled a moment after the cut, and a request picked in
        // between would be sent to the dying process; so the failure is answered only once the
        // process is gone or has shown it is alive. It is not replayed: it may be what killed it.
        if (!res.headersSent && !(error instanceof HttpError)) await exitedWithin(instance, 1_000);
        if (error instanceof HttpError) throw error;
        throw new HttpError(502, { code: 'WORKER_ERROR', message: `Function failed: ${(error as Error).message}` });
      } finally {
        instance.inflight -= 1;
      }
    }
  };

  return {
    pids(name: string) {
      return (pools.get(name) ?? []).filter((i) => !i.exited && i.process.pid).map((i) => i.process.pid!);
    },
    async handle(req, res, requestPath, url) {
      const [, name = '', ...restParts] = requestPath.split('/');
      const rest = restParts.length ? `/${restParts.join('/')}` : '';
      if (!FUNCTION_NAME.test(name) || !fs.existsSync(path.join(dir, name, 'index.ts'))) {
        throw new HttpError(404, { code: 'NOT_FOUND', message: 'Requested function was not found' });
      }
      // verify_jwt, Supabase's default: any valid JWT of this project, a user's or a legacy key.
      // It does not understand opaque keys (they are not JWTs): a function called with one turns
      // verify_jwt off and checks the key itself.
      if (!noVerifyJwt.has(name)) {
        const token = bearerToken(req);
        if (!token) throw new HttpError(401, { code: 401, message: 'Missing authorization header' });
        try {
          await ctx.keys.tokens.verify(token);
        } catch (error) {
          const expired = error instanceof JwtError && error.reason === 'expired';
          throw new HttpError(401, { code: 401, message: expired ? 'JWT expired' : 'Invalid JWT' });
        }
      }
      // Buffered so a request can be replayed on a fresh instance; bounded like any body.
      const body = await readBody(req);
      await dispatch(name, req, res, `/${name}${rest}${url.search}`, body);
    },
    async close() {
      const all = [...pools.values()].flat().filter((i) => !i.exited);
      await Promise.all(
        all.map(
          (i) =>
            new Promise<void>((resolve) => {
              i.process.once('exit', () => resolve());
              i.process.kill('SIGTERM');
              setTimeout(() => i.process.kill('SIGKILL'), 8_000).unref();
            }),
        ),
      );
      agent.destroy();
    },
  };
}
