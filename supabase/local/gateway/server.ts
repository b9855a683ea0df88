import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { AUTHENTICATOR_PASSWORD } from '../config.ts';
import { isOpaqueKey, roleOfKey, type ProjectKeys } from '../project-keys.ts';
import { createAuthService, type AuthOptions } from './auth.ts';
import { createFunctionsService, type FunctionsOptions } from './functions/index.ts';
import { apiKey, bearerToken, HttpError, sendJson, type GatewayContext, type GatewayService } from './http.ts';
import { createRealtimeService } from './realtime/index.ts';
import { createRestService } from './rest/index.ts';
import { createStorageService, type StorageOptions } from './storage/index.ts';

export interface GatewayOptions {
  /** Superuser URL of the project database. */
  dbUrl: string;
  port: number;
  host?: string;
  /** API keys and token authority (see project-keys.ts). */
  keys: ProjectKeys;
  log?: (line: string) => void;
  /** Auth settings from config.toml (token lifetime, refresh reuse window). */
  auth?: AuthOptions;
  /** Where Storage keeps object bytes. */
  storage?: StorageOptions;
  /** Edge functions: folder, secrets, instances, limits. */
  functions?: FunctionsOptions;
  /** Extra services mounted by the stack (storage, functions) keyed by prefix, e.g. `/functions/v1`. */
  services?: Record<string, (ctx: GatewayContext) => GatewayService>;
}

export interface RunningGateway {
  url: string;
  port: number;
  context: GatewayContext;
  close(): Promise<void>;
}

/** Same database, logged in as `authenticator`: the REST service can only become API roles. */
function authenticatorUrl(dbUrl: string): string {
  const url = new URL(dbUrl);
  url.username = 'authenticator';
  url.password = AUTHENTICATOR_PASSWORD;
  return url.toString();
}

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers':
    'authorization, apikey, content-type, x-client-info, x-supabase-api-version, prefer, accept, accept-profile, content-profile, range, range-unit, x-upsert, cache-control, x-region',
  'access-control-expose-headers': 'content-range, content-location, content-profile, range-unit, x-supabase-api-version, preference-applied, location',
  'access-control-max-age': '86400',
};

/**
 * Paths the API gateway lets through without an API key, as Supabase's does: edge functions
 * verify the JWT themselves, signed or public Storage URLs must work in an <img> tag, and the
 * JWKS is public (verifying a token needs only the public keys).
 */
const OPEN_PATHS = [
  /^\/auth\/v1\/(health|settings|verify|callback|authorize|\.well-known\/jwks\.json)$/,
  /^\/functions\/v1\//,
  /^\/storage\/v1\/object\/(sign|public)\//,
];

/**
 * Hosted Supabase refuses a secret key that arrives from a browser, which it recognises by the
 * User-Agent (every browser's starts with "Mozilla/"; Node's, Deno's and curl's do not), so a
 * secret key leaked into client code fails at once instead of working until someone notices.
 * The legacy service_role JWT never had that check.
 */
const BROWSER_USER_AGENT = /^Mozilla\//;

function refuseSecretKeyFromBrowser(req: IncomingMessage, url: URL, keys: ProjectKeys) {
  if (!BROWSER_USER_AGENT.test(req.headers['user-agent'] ?? '')) return;
  if (apiKey(req, url) !== keys.secretKey && bearerToken(req) !== keys.secretKey) return;
  throw new HttpError(401, { message: 'Forbidden use of secret API key in browser' });
}

/**
 * One HTTP + WebSocket port serving the APIs supabase-js talks to. The prefixes and the API
 * key check mirror Supabase's API gateway; each service behind it mirrors the real server
 * (PostgREST, GoTrue, Realtime, Storage, the edge runtime) closely enough that the official
 * clients cannot tell them apart for the calls this project makes.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? (() => {});
  const keys = options.keys;
  let publicUrl = '';
  const apiPool = new pg.Pool({ connectionString: authenticatorUrl(options.dbUrl), max: 20, idleTimeoutMillis: 30_000 });
  const adminPool = new pg.Pool({ connectionString: options.dbUrl, max: 10, idleTimeoutMillis: 30_000 });
  // A pool's idle client losing its server (Postgres restarting) must not crash the gateway.
  apiPool.on('error', (e) => log(`api pool: ${e.message}`));
  adminPool.on('error', (e) => log(`admin pool: ${e.message}`));

  const context: GatewayContext = {
    keys,
    apiUrl: () => publicUrl,
    dbUrl: options.dbUrl,
    apiPool,
    adminPool,
    log,
  };

  // A service the options replace is never made: it would hold what it opened (a folder, a
  // connection) with nothing left to close it.
  const factories: Record<string, (ctx: GatewayContext) => GatewayService> = {
    '/rest/v1': createRestService,
    '/auth/v1': (ctx) => createAuthService(ctx, options.auth),
    '/realtime/v1': createRealtimeService,
    '/storage/v1': (ctx) => createStorageService(ctx, options.storage),
    '/functions/v1': (ctx) => createFunctionsService(ctx, options.functions),
    ...options.services,
  };
  const services = new Map(Object.entries(factories).map(([prefix, make]) => [prefix, make(context)] as const));

  const route = (pathname: string): [GatewayService, string] | undefined => {
    for (const [prefix, service] of services) {
      if (pathname === prefix || pathname.startsWith(`${prefix}/`)) {
        return [service, pathname.slice(prefix.length) || '/'];
      }
    }
    return undefined;
  };

  const checkApiKey = (req: IncomingMessage, url: URL) => {
    refuseSecretKeyFromBrowser(req, url, keys);
    if (OPEN_PATHS.some((p) => p.test(url.pathname))) return;
    const key = apiKey(req, url);
    if (!key) throw new HttpError(401, { message: 'No API key found in request' });
    if (roleOfKey(keys, key)) return;
    // A JWT-shaped key on a project whose legacy keys are off gets the hosted gateway's answer.
    if (!isOpaqueKey(key) && keys.anonKey === undefined) {
      throw new HttpError(401, { message: 'Legacy API keys are disabled', hint: 'Use a publishable or secret API key (sb_...)' });
    }
    throw new HttpError(401, { message: 'Invalid API key' });
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', publicUrl);
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(200, { 'content-length': 0 });
        res.end();
        return;
      }
      const target = route(url.pathname);
      if (!target) throw new HttpError(404, { message: 'no Route matched with those values' });
      checkApiKey(req, url);
      await target[0].handle(req, res, target[1], url);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(res, error.status, error.body, error.headers);
      } else {
        log(`gateway error on ${req.method} ${url.pathname}: ${(error as Error).stack ?? error}`);
        sendJson(res, 500, { message: 'An unexpected error occurred' });
      }
    }
  };

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => void onRequest(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', publicUrl || 'http://localhost');
    const target = route(url.pathname);
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ message })}`);
    };
    if (!target?.[0].upgrade) return refuse(404, 'no Route matched with those values');
    try {
      checkApiKey(req, url);
    } catch (error) {
      return refuse((error as HttpError).status ?? 401, (error as Error).message);
    }
    target[0].upgrade(req, socket, head, target[1], url);
  });
  const sockets = new Set<Duplex>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  // Realtime creates its message partitions before the first request can insert a broadcast.
  try {
    await Promise.all([...services.values()].map((service) => service.ready));
  } catch (error) {
    for (const service of services.values()) await service.close?.().catch(() => {});
    await Promise.all([apiPool.end(), adminPool.end()]);
    throw error;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(`API port ${options.port} is already in use; stop what holds it or set SUPABASE_API_PORT`)
          : e,
      ),
    );
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  publicUrl = `http://127.0.0.1:${port}`;

  return {
    url: publicUrl,
    port,
    context,
    async close() {
      for (const service of services.values()) await service.close?.();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await Promise.all([apiPool.end(), adminPool.end()]);
    },
  };
}
