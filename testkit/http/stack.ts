import pg from 'pg';
import { DEFAULT_JWT_SECRET, legacyKeysEnabled } from '../../supabase/local/config.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../supabase/local/gateway/server.ts';
import { generateSigningKey } from '../../supabase/local/jwt.ts';
import { createProjectKeys, type ProjectKeys } from '../../supabase/local/project-keys.ts';
import { createTestDatabase } from '../database/cluster.ts';

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
