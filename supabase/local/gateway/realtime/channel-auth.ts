import type pg from 'pg';
import { JwtError, type JwtClaims } from '../../jwt.ts';
import { isOpaqueKey, type ProjectKeys } from '../../project-keys.ts';
import { verifyCredential } from '../credentials.ts';

/**
 * Who a channel acts as, and what it may do on a private topic. Error texts are Supabase
 * Realtime's, `Code: message`, because apps and realtime-js surface them verbatim.
 */
/** `exp` is absent only for an API key, which does not expire. */
export type ChannelClaims = JwtClaims & { role: string; exp?: number };
export type TokenCheck = { ok: true; claims: ChannelClaims } | { ok: false; reason: string; message: string };

function peekExp(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof claims?.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A channel's credential: a JWT (a user's access token, or a legacy key), or the socket's API
 * key when the client has no session (an opaque key acts as its role and never expires).
 * `message` is the bare text (system messages); `reason` the `Code: text` a join error carries.
 */
export async function checkToken(token: unknown, keys: ProjectKeys): Promise<TokenCheck> {
  const fail = (code: string, message: string): TokenCheck => ({ ok: false, reason: `${code}: ${message}`, message });
  if (typeof token !== 'string' || token === '') return fail('MalformedJWT', 'The token provided is not a valid JWT');
  try {
    const credential = token.replace(/\s/g, '');
    const claims = await verifyCredential(keys, credential);
    if (isOpaqueKey(credential)) return { ok: true, claims: claims as ChannelClaims };
    if (typeof claims.role !== 'string' || typeof claims.exp !== 'number') {
      return fail('InvalidJWTToken', 'Fields `role` and `exp` are required in JWT');
    }
    return { ok: true, claims: claims as ChannelClaims };
  } catch (error) {
    if (!(error instanceof JwtError)) throw error;
    switch (error.reason) {
      case 'expired': {
        const exp = peekExp(token) ?? 0;
        return fail('InvalidJWTToken', `Token has expired ${Math.max(0, Math.floor(Date.now() / 1000) - Math.round(exp))} seconds ago`);
      }
      case 'signature':
        return fail('JwtSignatureError', 'Failed to validate JWT signature');
      case 'algorithm':
        return fail('JwtSignerError', 'Failed to generate JWT signer, check your JWT secret or JWKS configuration');
      default:
        return fail('MalformedJWT', 'The token provided is not a valid JWT');
    }
  }
}

/**
 * Roles a token may make Realtime assume. Realtime switches to the JWT's role to evaluate RLS;
 * a token naming a superuser would otherwise bypass every policy. Like PostgREST we only assume
 * roles granted to `authenticator` (anon, authenticated, service_role and any custom API role).
 */
export class RoleGuard {
  private cache = new Map<string, boolean>();
  constructor(private readonly admin: pg.Pool) {}

  async allowed(role: string): Promise<boolean> {
    const known = this.cache.get(role);
    if (known !== undefined) return known;
    const { rows } = await this.admin.query<{ ok: boolean }>(
      `select exists (select 1 from pg_roles where rolname = $1)
              and pg_has_role('authenticator', $1, 'MEMBER')
              and not (select rolsuper from pg_roles where rolname = $1) as ok`,
      [role],
    );
    const ok = rows[0]?.ok === true;
    this.cache.set(role, ok);
    return ok;
  }
}

export interface TopicAccess {
  broadcastRead: boolean;
  presenceRead: boolean;
  broadcastWrite: boolean;
  presenceWrite: boolean;
}

/** RLS on realtime.messages, evaluated as the user for this topic (see bootstrap.sql). */
export async function topicAccess(admin: pg.Pool, claims: JwtClaims & { role: string }, topic: string, checkWrite: boolean): Promise<TopicAccess> {
  const { rows } = await admin.query(
    `select broadcast_read, presence_read, broadcast_write, presence_write
       from realtime.local_topic_access($1, $2::jsonb, $3, $4)`,
    [claims.role, JSON.stringify(claims), topic, checkWrite],
  );
  const r = rows[0] ?? {};
  return {
    broadcastRead: r.broadcast_read === true,
    presenceRead: r.presence_read === true,
    broadcastWrite: r.broadcast_write === true,
    presenceWrite: r.presence_write === true,
  };
}
