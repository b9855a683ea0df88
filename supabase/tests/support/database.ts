import { randomBytes } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../../lib/supabase/database.ts';
import pg from 'pg';
import WebSocket from 'ws';
import { DEFAULT_JWT_SECRET, legacyKeysEnabled } from '../../local/config.ts';
import { maintainMessagePartitions } from '../../local/gateway/realtime/message-partitions.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../local/gateway/server.ts';
import { generateSigningKey } from '../../local/jwt.ts';
import { prepareDatabase } from '../../local/migrate.ts';
import { startScratchCluster } from '../../local/postgres.ts';
import { createProjectKeys, type ProjectKeys } from '../../local/project-keys.ts';

/**
 * Test fixtures for the local platform. The test runner starts one Postgres cluster on a
 * free port and builds a template database (bootstrap + migrations + seed) once; every test
 * file then gets its own database copied from the template (about 0.1 s) and, if it wants,
 * its own gateway on a free port. A test file run on its own (`tsx --test file`) starts a
 * private cluster instead. Nothing touches the developer's `.local/` stack or its ports.
 */
export const TEMPLATE_DB = 'jobhealth_template';
export const CLUSTER_ENV = 'JOBHEALTH_TEST_CLUSTER_URL';

/**
 * A scratch cluster holding the template database every test database is copied from.
 * `settings` are extra server settings (a benchmark that reads pg_stat_statements preloads it).
 */
export async function startTestCluster(settings: Record<string, string | number> = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const cluster = await startScratchCluster(settings);
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`create database ${TEMPLATE_DB}`);
    await admin.end();
    await prepareDatabase(cluster.urlFor(TEMPLATE_DB));
    // The message partitions the Realtime server would have made: SQL-only tests run without
    // one, and their broadcasts need a table to land in (test databases copy the template).
    const template = new pg.Client({ connectionString: cluster.urlFor(TEMPLATE_DB) });
    await template.connect();
    try {
      await maintainMessagePartitions(template);
    } finally {
      await template.end();
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function clusterUrl(): string {
  const url = process.env[CLUSTER_ENV];
  if (!url) {
    throw new Error(`no test cluster: run tests through "npm test" (e.g. npm test -- path/to/file.test.ts)`);
  }
  return url;
}

/**
 * One statement on a short-lived connection: for tests that look at a database from outside.
 * Rows are pg's `QueryResultRow` unless the caller names their shape as `R`.
 */
export async function queryOnce<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** Superuser URL of this test's own database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database with the platform, every migration and the seed, private to the caller. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = clusterUrl();
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestStack {
  apiUrl: string;
  /** sb_publishable_...: acts as anon. */
  publishableKey: string;
  /** sb_secret_...: acts as service_role. */
  secretKey: string;
  /** The legacy JWT keys and secret, while legacy keys are on. */
  anonKey?: string;
  serviceRoleKey?: string;
  jwtSecret?: string;
  /** Keys and token authority: `keys.tokens.sign(claims)` makes a token as Auth would. */
  keys: ProjectKeys;
  dbUrl: string;
  gateway: RunningGateway;
  /** Superuser pool on this test's database, for arranging and asserting. */
  db: pg.Pool;
  stop(): Promise<void>;
}

/**
 * A database of its own plus a gateway on a free port, as the official clients see Supabase.
 * Legacy keys follow SUPABASE_LEGACY_KEYS (so a whole suite can run with them off) unless the
 * test says; each stack signs with a signing key of its own.
 */
export async function startTestStack(
  options: { services?: GatewayOptions['services']; functions?: GatewayOptions['functions']; legacyKeys?: boolean } = {},
): Promise<TestStack> {
  const legacy = options.legacyKeys ?? legacyKeysEnabled();
  const keys = await createProjectKeys({
    signingKeys: [await generateSigningKey()],
    legacySecret: legacy ? DEFAULT_JWT_SECRET : undefined,
  });
  const database = await createTestDatabase();
  const gateway = await startGateway({
    dbUrl: database.url,
    port: 0,
    keys,
    services: options.services,
    functions: options.functions,
    log: process.env.JOBHEALTH_VERBOSE === '1' ? (l) => console.error(l) : undefined,
  });
  const db = new pg.Pool({ connectionString: database.url, max: 10 });
  db.on('error', () => {});
  return {
    apiUrl: gateway.url,
    publishableKey: keys.publishableKey,
    secretKey: keys.secretKey,
    ...(legacy ? { anonKey: keys.anonKey, serviceRoleKey: keys.serviceRoleKey, jwtSecret: DEFAULT_JWT_SECRET } : {}),
    keys,
    dbUrl: database.url,
    gateway,
    db,
    async stop() {
      await gateway.close();
      await db.end();
      await database.drop();
    },
  };
}

import { DEMO_PASSWORD } from '../../../lib/auth/demo-accounts.ts';

export { DEMO_PASSWORD };
export const DEMO_USERS = {
  admin: { id: '00000000-0000-4000-8000-00000000a001', email: 'admin@example.com' },
  support: { id: '00000000-0000-4000-8000-00000000a002', email: 'support@example.com' },
  alice: { id: '00000000-0000-4000-8000-00000000a003', email: 'alice@example.com' },
  bob: { id: '00000000-0000-4000-8000-00000000a004', email: 'bob@example.com' },
} as const;

/**
 * The official client as an app would create it. Node 20 has no global WebSocket, so
 * realtime-js is handed `ws`, the one difference from a browser. `accessToken` gives the client
 * a user's token without signing in (supabase-js's option for tokens it did not issue): Realtime
 * asks it again on every (re)connect, where a token handed to `realtime.setAuth()` alone would
 * be replaced by the API key.
 */
/**
 * The schema of suites that test the platform itself on tables of their own (fixture SQL, not the
 * migrations): not the app's, so their clients are untyped (`createTestClient<FixtureSchema>`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- supabase-js's own default for a schema it does not know
export type FixtureSchema = any;

export function createTestClient<Schema = Database>(
  stack: Pick<TestStack, 'apiUrl'>,
  key: string,
  options: { accessToken?: () => Promise<string>; headers?: Record<string, string> } = {},
): SupabaseClient<Schema> {
  return createClient<Schema>(stack.apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    ...(options.headers ? { global: { headers: options.headers } } : {}),
  });
}

/**
 * A client with the publishable key, signed in as a demo account through Auth's password grant,
 * and the user's access token. The token is handed to Realtime here: supabase-js forwards the
 * session to Realtime from an auth event, and doing it now makes the next join carry it
 * deterministically.
 */
export async function signedInClient(
  stack: Pick<TestStack, 'apiUrl' | 'publishableKey'>,
  user: keyof typeof DEMO_USERS,
): Promise<{ client: SupabaseClient<Database>; token: string }> {
  const client = createTestClient(stack, stack.publishableKey);
  const { data, error } = await client.auth.signInWithPassword({ email: DEMO_USERS[user].email, password: DEMO_PASSWORD });
  if (error || !data.session) throw error ?? new Error(`${user} could not sign in: no session`);
  await client.realtime.setAuth(data.session.access_token);
  return { client, token: data.session.access_token };
}
