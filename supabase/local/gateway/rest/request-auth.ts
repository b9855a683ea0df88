import type { IncomingMessage } from 'node:http';
import { JwtError, type JwtClaims } from '../../jwt.ts';
import { isOpaqueKey, type ProjectKeys } from '../../project-keys.ts';
import { requestCredential, verifyCredential } from '../credentials.ts';
import { PostgrestError } from './errors.ts';

/** The database role a request runs as, and the claims policies read through auth.jwt(). */
export interface RequestIdentity {
  role: string;
  claims: JwtClaims;
  /** PostgREST's "authenticated": any role but the anonymous one. Decides 401 vs 403. */
  authed: boolean;
}

export const ANON_ROLE = 'anon';

function jwtError(code: 'PGRST301' | 'PGRST303', message: string): PostgrestError {
  return new PostgrestError(401, code, message, null, null, {
    'www-authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}`,
  });
}

/**
 * PostgREST's authentication step behind Supabase's API gateway: an opaque API key (the
 * publishable or secret key, standing in for a missing bearer) gives its role; otherwise no
 * Authorization header means the anonymous role, and a bearer token must verify against the
 * project's keys, its `role` claim naming the role to become. Whether that role exists (or may
 * be assumed by `authenticator`) is left to Postgres, exactly as PostgREST does, so the answer
 * is Postgres's own error.
 */
export async function authenticate(req: IncomingMessage, url: URL, keys: ProjectKeys): Promise<RequestIdentity> {
  const credential = requestCredential(req, url);
  const header = req.headers.authorization;
  const opaque = credential !== undefined && isOpaqueKey(credential);
  if (!opaque) {
    if (header === undefined) return { role: ANON_ROLE, claims: { role: ANON_ROLE }, authed: false };
    const match = /^bearer(?:\s+(.*))?$/i.exec(header.trim());
    if (!match) return { role: ANON_ROLE, claims: { role: ANON_ROLE }, authed: false };
    const token = (match[1] ?? '').trim();
    if (token === '') throw jwtError('PGRST301', 'Empty JWT is sent in Authorization header');
    const parts = token.split('.').length;
    if (parts !== 3) throw jwtError('PGRST301', `Expected 3 parts in JWT; got ${parts}`);
  }

  let claims: JwtClaims;
  try {
    claims = await verifyCredential(keys, credential!);
  } catch (error) {
    if (!(error instanceof JwtError)) throw error;
    switch (error.reason) {
      case 'expired':
        throw jwtError('PGRST303', 'JWT expired');
      case 'algorithm':
        throw jwtError('PGRST301', 'Wrong or unsupported encoding algorithm');
      case 'signature':
        throw jwtError('PGRST301', 'JWT cryptographic operation failed');
      default:
        throw jwtError('PGRST301', "JWT couldn't be decoded");
    }
  }
  if (claims.exp !== undefined && typeof claims.exp !== 'number') {
    throw jwtError('PGRST303', "The JWT 'exp' claim must be a number");
  }
  if (claims.role !== undefined && typeof claims.role !== 'string') throw jwtError('PGRST303', 'Parsing claims failed');
  const role = claims.role || ANON_ROLE;
  return { role, claims, authed: role !== ANON_ROLE };
}
