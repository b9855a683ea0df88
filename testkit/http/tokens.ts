import { randomUUID } from 'node:crypto';
import { generateSigningKey, type JwtClaims } from '../../supabase/local/jwt.ts';
import { createProjectKeys } from '../../supabase/local/project-keys.ts';
import type { TestStack } from './stack.ts';

/** Seconds since the epoch, as JWT claims count time. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A user access token as the stack's Auth would sign it (ES256, its kid), valid for `ttl` seconds. */
export function userToken(stack: Pick<TestStack, 'keys'>, claims: JwtClaims, ttl = 3600): Promise<string> {
  return stack.keys.tokens.sign({ role: 'authenticated', aud: 'authenticated', exp: nowSeconds() + ttl, ...claims });
}

/**
 * A token that looks like the stack's own (ES256, the stack's kid) but is signed with another
 * key: what a forger without the private key can make. Refused with legacy keys on or off.
 */
export async function forgedToken(stack: Pick<TestStack, 'keys'>, claims: JwtClaims): Promise<string> {
  const other = await generateSigningKey();
  const forger = await createProjectKeys({ signingKeys: [{ ...other, kid: stack.keys.tokens.kid }] });
  return forger.tokens.sign(claims);
}

/** An opaque key shaped like the project's but unknown to it. */
export const unknownSecretKey = () => `sb_secret_${randomUUID().replace(/-/g, '')}`;
