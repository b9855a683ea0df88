/**
 * Who may run the worker: only the project's secret key, sent in the `apikey` header (pg_net,
 * pg_cron and the local scheduler send it so), or, while the project still has legacy keys,
 * the legacy service-role JWT. The platform's verify_jwt gate is off for this function
 * (config.toml): it does not understand secret keys, and any project JWT, a signed-in user's
 * included, would pass it. A user must not be able to make the worker spend Gemini calls, so a
 * publishable key and a user's token are refused here.
 */
export interface WorkerKeys {
  /** SUPABASE_SECRET_KEYS, every named key. */
  secretKeys: string[];
  /** SUPABASE_PUBLISHABLE_KEYS, to tell "wrong kind of key" (403) from "no key" (401). */
  publishableKeys: string[];
  /** SUPABASE_SERVICE_ROLE_KEY / SUPABASE_ANON_KEY, present while legacy keys are on. */
  legacyServiceRoleKey?: string;
  legacyAnonKey?: string;
}

type Env = (name: string) => string | undefined;

/** A JSON object of named keys, as the edge runtime sets SUPABASE_SECRET_KEYS; `{}` if unset. */
function namedKeys(env: Env, name: string): string[] {
  const raw = env(name);
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name} must be a JSON object of named keys, e.g. {"default":"sb_..."}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${name} must be a JSON object of named keys, e.g. {"default":"sb_..."}`);
  }
  return Object.values(parsed).filter((v): v is string => typeof v === 'string' && v !== '');
}

export function readWorkerKeys(env: Env): WorkerKeys {
  return {
    secretKeys: namedKeys(env, 'SUPABASE_SECRET_KEYS'),
    publishableKeys: namedKeys(env, 'SUPABASE_PUBLISHABLE_KEYS'),
    legacyServiceRoleKey: env('SUPABASE_SERVICE_ROLE_KEY') || undefined,
    legacyAnonKey: env('SUPABASE_ANON_KEY') || undefined,
  };
}

/**
 * The key the worker itself talks to the project with: the secret key named "default" (the
 * first one otherwise), or the legacy service-role key on a project that has no secret key yet.
 */
export function databaseKey(env: Env): string {
  const raw = env('SUPABASE_SECRET_KEYS');
  const named = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const key = typeof named.default === 'string' ? named.default : readWorkerKeys(env).secretKeys[0];
  const chosen = key ?? env('SUPABASE_SERVICE_ROLE_KEY');
  if (!chosen) throw new Error('the worker needs SUPABASE_SECRET_KEYS (or the legacy SUPABASE_SERVICE_ROLE_KEY)');
  return chosen;
}

/** Compares in time that depends only on the lengths, so a caller cannot find a key byte by byte. */
function sameKey(given: string, expected: string): boolean {
  if (given.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < given.length; i++) difference |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return difference === 0;
}

const oneOf = (given: string | undefined, keys: (string | undefined)[]) =>
  given !== undefined && keys.some((key) => key !== undefined && sameKey(given, key));

export type Admission = { ok: true } | { ok: false; status: 401 | 403; error: string };

export function admitWorkerCall(headers: Headers, keys: WorkerKeys): Admission {
  const apikey = headers.get('apikey') ?? undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
  if (oneOf(apikey, keys.secretKeys)) return { ok: true };
  if (keys.legacyServiceRoleKey && (oneOf(bearer, [keys.legacyServiceRoleKey]) || oneOf(apikey, [keys.legacyServiceRoleKey]))) {
    return { ok: true };
  }
  if (oneOf(apikey, [...keys.publishableKeys, keys.legacyAnonKey]) || bearer !== undefined) {
    return { ok: false, status: 403, error: 'only the secret key may invoke the worker' };
  }
  return { ok: false, status: 401, error: 'a secret key is required in the apikey header' };
}
