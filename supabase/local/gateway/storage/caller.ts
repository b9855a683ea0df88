import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import { JwtError, type JwtClaims } from '../../jwt.ts';
import type { ProjectKeys } from '../../project-keys.ts';
import { requestCredential, verifyCredential } from '../credentials.ts';
import { apiKey, type GatewayContext } from '../http.ts';
import { invalidJwt, unauthorized } from './errors.ts';

/**
 * Who is calling, and running SQL as them. Storage authorises exactly as PostgREST does: every
 * metadata read or write runs in a transaction on the `authenticator` pool with the JWT's role
 * and claims set locally, so the project's RLS policies on storage.objects and storage.buckets
 * decide, `auth.uid()` is the caller, and `service_role` passes because it has BYPASSRLS.
 */
export interface Caller {
  role: 'anon' | 'authenticated' | 'service_role';
  claims: JwtClaims;
}

const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);

/** jsonwebtoken's wording, which Storage passes through in its error messages. */
const JWT_MESSAGES: Record<JwtError['reason'], string> = {
  expired: 'jwt expired',
  signature: 'invalid signature',
  malformed: 'jwt malformed',
  algorithm: 'invalid algorithm',
};

/** A caller's credential (an API key or a JWT), or a signed URL's token (a JWT the project signed). */
export async function verifyStorageJwt(token: string, keys: ProjectKeys, kind: 'bearer' | 'signed-url' = 'bearer'): Promise<JwtClaims> {
  try {
    return kind === 'bearer' ? await verifyCredential(keys, token) : await keys.tokens.verify(token);
  } catch (error) {
    if (error instanceof JwtError) {
      const message = JWT_MESSAGES[error.reason];
      throw kind === 'bearer' ? unauthorized(message) : invalidJwt(message);
    }
    throw error;
  }
}

/** The caller's credential: the bearer token, else the API key (supabase-js sends both; curl may not). */
export async function resolveCaller(req: IncomingMessage, url: URL, ctx: GatewayContext): Promise<Caller> {
  const token = requestCredential(req, url) ?? apiKey(req, url);
  if (!token) throw unauthorized("headers must have required property 'authorization'");
  const claims = await verifyStorageJwt(token, ctx.keys);
  const role = typeof claims.role === 'string' ? claims.role : 'anon';
  if (!API_ROLES.has(role)) throw unauthorized(`role "${role}" is not an API role`);
  return { role: role as Caller['role'], claims };
}

/** Runs `work` in a transaction as the caller; rolls back on any error. */
export async function asCaller<T>(pool: pg.Pool, caller: Caller, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    // set_config(..., true) is SET LOCAL: the role and claims end with the transaction, so a
    // pooled connection never carries one caller's identity into the next request.
    await client.query(
      `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.jwt.claim.sub', $3, true), set_config('request.jwt.claim.role', $1, true)`,
      [caller.role, JSON.stringify(caller.claims), typeof caller.claims.sub === 'string' ? caller.claims.sub : ''],
    );
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
