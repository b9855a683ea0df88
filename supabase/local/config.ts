import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, derived from this file's place so commands work from any cwd. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the local stack keeps its database and stack.json; tests point it elsewhere. */
export const localDir = process.env.JOBHEALTH_LOCAL_DIR
  ? path.resolve(process.env.JOBHEALTH_LOCAL_DIR)
  : path.join(repoRoot, '.local');
export const supabaseDir = path.join(repoRoot, 'supabase');

/**
 * The JWT secret of `supabase start`. Local only: it signs the anon and service-role keys the
 * same way Supabase's legacy keys are signed, so the keys below are the well-known local ones.
 */
export const DEFAULT_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

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

export const defaultPorts = () => ({
  api: portFromEnv('SUPABASE_API_PORT', 54321),
  db: portFromEnv('SUPABASE_DB_PORT', 54322),
  app: portFromEnv('PORT', 3000),
  gemini: portFromEnv('GEMINI_STANDIN_PORT', 54329),
});

export const jwtSecret = () => process.env.SUPABASE_JWT_SECRET || DEFAULT_JWT_SECRET;
