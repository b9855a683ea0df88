import { DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY } from './config.ts';
import { legacyApiKeys, TokenAuthority, type JwtClaims, type SigningJwk } from './jwt.ts';

/**
 * A project's API keys and token authority, as hosted Supabase has them since its key change:
 * - the publishable key (`sb_publishable_...`, acts as `anon`) and the secret key
 *   (`sb_secret_...`, acts as `service_role`) are opaque strings, not JWTs: the API gateway
 *   recognises them and the services run the request as their role;
 * - user access tokens are JWTs signed with the asymmetric signing key (see jwt.ts);
 * - while legacy keys are on, the anon and service-role JWTs (HS256, the legacy JWT secret) work
 *   as before. Legacy keys are switched off as a pair, as on a hosted project.
 */
export interface ProjectKeys {
  publishableKey: string;
  secretKey: string;
  /** The legacy JWT keys; absent when legacy keys are off. */
  anonKey?: string;
  serviceRoleKey?: string;
  tokens: TokenAuthority;
}

export interface ProjectKeysOptions {
  signingKeys: SigningJwk[];
  /** The legacy JWT secret, or undefined to switch legacy keys off. */
  legacySecret?: string;
  publishableKey?: string;
  secretKey?: string;
}

const API_KEY_SHAPE = /^sb_(publishable|secret)_[A-Za-z0-9_-]{16,}$/;

export async function createProjectKeys(options: ProjectKeysOptions): Promise<ProjectKeys> {
  const publishableKey = options.publishableKey ?? DEFAULT_PUBLISHABLE_KEY;
  const secretKey = options.secretKey ?? DEFAULT_SECRET_KEY;
  if (!publishableKey.startsWith('sb_publishable_') || !API_KEY_SHAPE.test(publishableKey)) {
    throw new Error('the publishable key must look like sb_publishable_...');
  }
  if (!secretKey.startsWith('sb_secret_') || !API_KEY_SHAPE.test(secretKey)) throw new Error('the secret key must look like sb_secret_...');
  const tokens = await TokenAuthority.create({ signingKeys: options.signingKeys, legacySecret: options.legacySecret });
  const legacy = options.legacySecret === undefined ? {} : await legacyApiKeys(options.legacySecret);
  return { publishableKey, secretKey, ...legacy, tokens };
}

/** An opaque API key (new style), as opposed to a JWT. */
export const isOpaqueKey = (key: string): boolean => key.startsWith('sb_');

/** The role a key acts as, or undefined for a key this project does not have (or has switched off). */
export function roleOfKey(keys: ProjectKeys, key: string): 'anon' | 'service_role' | undefined {
  if (key === keys.publishableKey || (keys.anonKey !== undefined && key === keys.anonKey)) return 'anon';
  if (key === keys.secretKey || (keys.serviceRoleKey !== undefined && key === keys.serviceRoleKey)) return 'service_role';
  return undefined;
}

/** The claims a request made with an opaque key runs with: its role, and nothing that names a user. */
export function opaqueKeyClaims(role: 'anon' | 'service_role'): JwtClaims {
  return { role };
}
