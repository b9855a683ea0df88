import type { IncomingMessage } from 'node:http';
import { JwtError, type JwtClaims } from '../jwt.ts';
import { isOpaqueKey, opaqueKeyClaims, roleOfKey, type ProjectKeys } from '../project-keys.ts';
import { apiKey, bearerToken } from './http.ts';

/**
 * The credential a request acts with, as Supabase's API gateway passes it on: the bearer token
 * of `Authorization` (a user's JWT, or an opaque key: supabase-js sends the key as bearer when
 * nobody is signed in); when there is none, an opaque API key in `apikey` stands in, so a request
 * made with just the secret key runs as service_role and one with the publishable key as anon.
 * A legacy JWT key without a bearer is left to the service (PostgREST makes that anon).
 */
export function requestCredential(req: IncomingMessage, url: URL): string | undefined {
  const bearer = bearerToken(req);
  if (bearer !== undefined) return bearer;
  const key = apiKey(req, url);
  return key !== undefined && isOpaqueKey(key) ? key : undefined;
}

/**
 * The claims of a credential: an opaque key of this project gives its role; anything else must
 * be a JWT that verifies (ES256 against the JWKS, or HS256 while legacy keys are on). An unknown
 * or switched-off key fails as a bad signature would.
 */
export async function verifyCredential(keys: ProjectKeys, credential: string): Promise<JwtClaims> {
  if (isOpaqueKey(credential)) {
    const role = roleOfKey(keys, credential);
    if (!role) throw new JwtError('Invalid API key', 'signature');
    return opaqueKeyClaims(role);
  }
  return keys.tokens.verify(credential);
}
