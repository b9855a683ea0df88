import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';

/**
 * JSON Web Tokens as a Supabase project issues and checks them, with `jose`:
 * - user access tokens are signed with the project's asymmetric signing key (ES256, or RS256),
 *   whose header names it by `kid`; every service verifies them against the public JWKS, as
 *   hosted services and `supabase.auth.getClaims()` do;
 * - while legacy keys are on, HS256 tokens signed with the legacy JWT secret (the anon and
 *   service-role keys, tokens minted by hand) verify too; off, they are refused like any forgery.
 */
export type JwtClaims = Record<string, unknown> & {
  sub?: string;
  role?: string;
  exp?: number;
  iat?: number;
  aud?: string | string[];
};

export class JwtError extends Error {
  constructor(
    message: string,
    readonly reason: 'malformed' | 'signature' | 'expired' | 'algorithm',
  ) {
    super(message);
  }
}

/** A private signing key in the form `supabase gen signing-key` writes (one JWK of the file's array). */
export type SigningJwk = JWK & { kid: string; alg: 'ES256' | 'RS256' };

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), use: 'sig', key_ops: ['sign', 'verify'], alg: 'ES256', ext: true };
}

function checkSigningKeys(keys: unknown, file: string): SigningJwk[] {
  const list = Array.isArray(keys) ? keys : [keys];
  if (list.length === 0) throw new Error(`${file} holds no signing key`);
  for (const key of list) {
    const jwk = key as Partial<SigningJwk>;
    if (typeof jwk?.kid !== 'string' || (jwk.alg !== 'ES256' && jwk.alg !== 'RS256') || typeof jwk.d !== 'string') {
      throw new Error(`${file}: every signing key needs kid, alg ES256 or RS256 and its private part (as \`supabase gen signing-key\` writes it)`);
    }
  }
  return list as SigningJwk[];
}

/**
 * The project's signing keys from `file` (the first one signs; all verify). A missing file gets
 * a new ES256 key, written once: of two processes starting together, the second reads the first's.
 */
export async function loadSigningKeys(file: string): Promise<SigningJwk[]> {
  if (!fs.existsSync(file)) {
    const key = await generateSigningKey();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, `${JSON.stringify([key], null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  return checkSigningKeys(parsed, file);
}

/** The public half of a signing key, as Auth publishes it in the JWKS. */
export function publicJwk(key: SigningJwk): JWK {
  const copy: JWK = { ...key, key_ops: ['verify'] };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.ext;
  return copy;
}

/** HS256 with a shared secret: the legacy keys, and tokens tests forge on purpose. */
export function signHs256(claims: JwtClaims, secret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** The long-lived legacy API keys `supabase start` prints: same issuer, roles and expiry. */
export async function legacyApiKeys(secret: string) {
  const key = (role: string) => signHs256({ iss: 'supabase-demo', role, exp: 1983812996 }, secret);
  return { anonKey: await key('anon'), serviceRoleKey: await key('service_role') };
}

function jwtError(error: unknown): JwtError {
  if (error instanceof JwtError) return error;
  if (error instanceof errors.JWTExpired) return new JwtError('JWT expired', 'expired');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new JwtError('JWSInvalidSignature', 'signature');
  // A kid that is in no key of the JWKS: signed by a key this project does not have.
  if (error instanceof errors.JWKSNoMatchingKey) return new JwtError('no signing key matches the token', 'signature');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new JwtError(`unsupported JWT algorithm: ${(error as Error).message}`, 'algorithm');
  }
  return new JwtError((error as Error)?.message ?? 'JWT could not be decoded', 'malformed');
}

/** Verified tokens are remembered until they expire (PostgREST's JWT cache does the same). */
const CACHE_LIMIT = 10_000;

export interface TokenAuthorityOptions {
  signingKeys: SigningJwk[];
  /** The legacy JWT secret while legacy keys are on; undefined refuses every HS256 token. */
  legacySecret?: string;
}

/**
 * Issues and verifies a project's tokens. Verification takes the algorithm from a fixed list,
 * never from the token alone (an "alg: none" or key-confusion token is refused), and an ES256
 * token must name a key of the JWKS by its kid.
 */
export class TokenAuthority {
  readonly jwks: { keys: JWK[] };
  readonly legacy: boolean;
  private readonly signing: SigningJwk;
  private readonly cache = new Map<string, JwtClaims>();

  private constructor(
    options: TokenAuthorityOptions,
    private readonly signingKey: CryptoKey,
  ) {
    this.signing = options.signingKeys[0]!;
    this.jwks = { keys: options.signingKeys.map(publicJwk) };
    this.legacy = options.legacySecret !== undefined;
    const local = createLocalJWKSet(this.jwks);
    const secret = options.legacySecret === undefined ? undefined : new TextEncoder().encode(options.legacySecret);
    this.keyFor = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
      if (header.alg === 'HS256') {
        if (!secret) throw new JwtError('legacy JWT secret tokens are disabled (SUPABASE_LEGACY_KEYS=off)', 'algorithm');
        return secret;
      }
      return local(header, token);
    };
    this.algorithms = [...new Set(this.jwks.keys.map((k) => k.alg as string)), ...(secret ? ['HS256'] : [])];
  }

  private readonly keyFor: (header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | Uint8Array>;
  private readonly algorithms: string[];

  static async create(options: TokenAuthorityOptions): Promise<TokenAuthority> {
    const first = options.signingKeys[0];
    if (!first) throw new Error('a signing key is required');
    // The file's key_ops name both halves ("sign", "verify"); WebCrypto imports a private key for signing only.
    const { key_ops: _ops, ...signing } = first;
    return new TokenAuthority(options, (await importJWK(signing, first.alg)) as CryptoKey);
  }

  get kid(): string {
    return this.signing.kid;
  }

  /** A token signed with the current signing key, its kid in the header. */
  sign(claims: JwtClaims): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: this.signing.alg, kid: this.signing.kid, typ: 'JWT' }).sign(this.signingKey);
  }

  async verify(token: string, nowSeconds = Date.now() / 1000): Promise<JwtClaims> {
    const known = this.cache.get(token);
    if (known && (typeof known.exp !== 'number' || known.exp > nowSeconds)) return known;
    if (known) this.cache.delete(token);
    let claims: JwtClaims;
    try {
      const { payload } = await jwtVerify(token, this.keyFor, {
        algorithms: this.algorithms,
        currentDate: new Date(nowSeconds * 1000),
      });
      claims = payload as JwtClaims;
    } catch (error) {
      throw jwtError(error);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, claims);
    return claims;
  }
}
