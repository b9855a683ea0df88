import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

/** Repository root, derived from this file's place so commands work from any cwd. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the local stack keeps its database and stack.json; tests point it elsewhere. */
export const localDir = process.env.JOBHEALTH_LOCAL_DIR
  ? path.resolve(process.env.JOBHEALTH_LOCAL_DIR)
  : path.join(repoRoot, '.local');
export const supabaseDir = path.join(repoRoot, 'supabase');

/**
 * The legacy JWT secret of `supabase start`. Local only: while legacy keys are on it signs the
 * anon and service-role keys the way Supabase's legacy keys are signed (so they are the
 * well-known local ones), and HS256 tokens made with it are accepted.
 */
export const DEFAULT_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

/** The publishable and secret keys `supabase start` prints: local only, the same on every machine. */
export const DEFAULT_PUBLISHABLE_KEY = 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH';
export const DEFAULT_SECRET_KEY = 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz';

/** Local Postgres superuser credentials, as `supabase start` uses. */
export const DEFAULT_DB_PASSWORD = 'postgres';
/** Password of the `authenticator` role the REST gateway logs in as (local only). */
export const AUTHENTICATOR_PASSWORD = 'authenticator-local';

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

/**
 * What the local platform takes from supabase/config.toml (the Supabase CLI's file, so `supabase
 * start` reads the same settings). Only the settings the platform acts on are read; the rest are
 * there for the CLI.
 */
export interface ProjectConfig {
  apiPort: number;
  dbPort: number;
  dbMajorVersion: number;
  seed: boolean;
  /** Seconds an access token lives. */
  jwtExpiry: number;
  /** Seconds a rotated refresh token may still be replayed. */
  refreshTokenReuseInterval: number;
  /** The signing-key file (a JSON array of private JWKs), absolute. */
  signingKeysPath: string;
  /** Per edge function: whether the platform verifies a JWT before the function runs (default true). */
  functions: Record<string, { verifyJwt: boolean }>;
}

export const configFile = path.join(supabaseDir, 'config.toml');

type Table = Record<string, unknown>;
const table = (value: unknown): Table => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Table) : {});

function setting<T>(section: Table, key: string, kind: 'number' | 'boolean' | 'string', fallback: T): T {
  const value = section[key];
  if (value === undefined) return fallback;
  if (typeof value !== kind) throw new Error(`${configFile}: ${key} must be a ${kind}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function readProjectConfig(file = configFile): ProjectConfig {
  const doc = fs.existsSync(file) ? parse(fs.readFileSync(file, 'utf8')) : {};
  const api = table(doc.api);
  const db = table(doc.db);
  const auth = table(doc.auth);
  const functions: ProjectConfig['functions'] = {};
  for (const [name, value] of Object.entries(table(doc.functions))) {
    functions[name] = { verifyJwt: setting(table(value), 'verify_jwt', 'boolean', true) };
  }
  const signingKeys = setting(auth, 'signing_keys_path', 'string', './signing_keys.json');
  return {
    apiPort: setting(api, 'port', 'number', 54321),
    dbPort: setting(db, 'port', 'number', 54322),
    dbMajorVersion: setting(db, 'major_version', 'number', 17),
    seed: setting(table(db.seed), 'enabled', 'boolean', true),
    jwtExpiry: setting(auth, 'jwt_expiry', 'number', 3600),
    refreshTokenReuseInterval: setting(auth, 'refresh_token_reuse_interval', 'number', 10),
    signingKeysPath: path.resolve(path.dirname(file), signingKeys),
    functions,
  };
}

let projectConfig: ProjectConfig | undefined;
/** supabase/config.toml, read once per process. */
export const config = (): ProjectConfig => (projectConfig ??= readProjectConfig());

/** Ports: the environment first, then config.toml. */
export const defaultPorts = () => ({
  api: portFromEnv('SUPABASE_API_PORT', config().apiPort),
  db: portFromEnv('SUPABASE_DB_PORT', config().dbPort),
  app: portFromEnv('PORT', 3000),
  gemini: portFromEnv('GEMINI_STANDIN_PORT', 54329),
});

export const jwtSecret = () => process.env.SUPABASE_JWT_SECRET || DEFAULT_JWT_SECRET;

/**
 * Legacy keys (the anon and service-role JWTs and HS256 tokens) are on unless
 * SUPABASE_LEGACY_KEYS=off, as on a hosted project that has not disabled them yet. Off, the
 * platform refuses them all, as a project whose legacy keys are disabled does.
 */
export function legacyKeysEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = (env.SUPABASE_LEGACY_KEYS ?? 'on').trim().toLowerCase();
  if (raw === 'on' || raw === '') return true;
  if (raw === 'off') return false;
  throw new Error(`SUPABASE_LEGACY_KEYS must be "on" or "off", got "${env.SUPABASE_LEGACY_KEYS}"`);
}
