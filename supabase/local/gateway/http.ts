import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { type JwtClaims } from '../jwt.ts';
import type { ProjectKeys } from '../project-keys.ts';

/** What every gateway service is given. One instance per running gateway. */
export interface GatewayContext {
  /** The project's API keys and the token authority every service verifies tokens with. */
  keys: ProjectKeys;
  /** Public base URL of the gateway, e.g. http://127.0.0.1:54321 */
  apiUrl(): string;
  /** Superuser URL of the project database (auth, realtime, storage internals). */
  dbUrl: string;
  /** Pool logged in as `authenticator`, the role PostgREST uses: it can only become API roles. */
  apiPool: pg.Pool;
  /** Pool logged in as the database owner, for the services GoTrue/Realtime/Storage run as. */
  adminPool: pg.Pool;
  log(line: string): void;
}

/** A service mounted under a path prefix (`/rest/v1`, `/auth/v1`, ...). */
export interface GatewayService {
  /** `path` is the request path below the prefix, starting with `/`. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void>;
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, url: URL): void;
  /** Settles once the service can take requests; the gateway starts listening after it. */
  ready?: Promise<void>;
  close?(): Promise<void>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? body.msg ?? status));
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, { message: 'Payload too large' });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; an empty body is `undefined`. Invalid JSON is the caller's 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  if (raw.length === 0) return undefined;
  return JSON.parse(raw.toString('utf8'));
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1]!.trim() : undefined;
}

/** The API key, from the `apikey` header or query parameter, as Supabase's API gateway reads it. */
export function apiKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.apikey;
  if (typeof header === 'string' && header) return header;
  return url.searchParams.get('apikey') ?? undefined;
}

export type { JwtClaims };
