import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { config, jwtSecret as configuredJwtSecret, legacyKeysEnabled, localDir } from './config.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway/server.ts';
import { startGeminiStandIn, type RunningGeminiStandIn } from './gemini/server.ts';
import { loadSigningKeys, type SigningJwk } from './jwt.ts';
import { prepareDatabase, type PrepareResult } from './migrate.ts';
import { createProjectKeys, type ProjectKeys } from './project-keys.ts';
import { startPostgres, type RunningPostgres } from './postgres.ts';
import { allowLoopbackAlertTargets, startAlertDelivery } from './alert-delivery.ts';
import type { Scheduler } from './scheduler.ts';
import { startWorkerDispatch } from './worker-dispatch.ts';

export interface StackOptions {
  /** Postgres data directory (ignored when `dbUrl` is given). */
  dataDir?: string;
  dbPort: number;
  apiPort: number;
  /** An existing Postgres (superuser URL) to use instead of starting the embedded one. */
  dbUrl?: string;
  /** The legacy JWT secret (default SUPABASE_JWT_SECRET, else the local one of `supabase start`). */
  jwtSecret?: string;
  /** Legacy keys on or off (default: SUPABASE_LEGACY_KEYS, on unless "off"). */
  legacyKeys?: boolean;
  /** Signing keys (default: config.toml's signing-key file, made on first start). */
  signingKeys?: SigningJwk[];
  seed?: boolean;
  log?: (line: string) => void;
  services?: GatewayOptions['services'];
  /** Run the job worker on enqueue, on a sweep, and the reaper and rollups (default true). */
  worker?: boolean;
  /** Port of the local Gemini stand-in (0: any free port); unused when GEMINI_API_KEY is set. */
  geminiPort?: number;
  /** Where Storage keeps object bytes (default `.local/storage`). */
  storageRoot?: string;
  /**
   * Evaluate the alert rules and send alert deliveries (default: when the worker runs).
   * `allowLoopbackTargets` lets webhook channels point at http://127.0.0.1 (local receivers in
   * tests); `evaluateEveryMs` defaults to pg_cron's minute.
   */
  alerts?: false | { allowLoopbackTargets?: boolean; evaluateEveryMs?: number };
}

/** What `.local/stack.json` publishes (the keys object itself stays in the process). */
export interface StackInfo {
  apiUrl: string;
  publishableKey: string;
  secretKey: string;
  /** False when SUPABASE_LEGACY_KEYS=off. */
  legacyKeys: boolean;
  /**
   * The keys that act as anon and service_role: the legacy JWT keys while legacy keys are on,
   * else the publishable and secret keys. stack.json carries them only while legacy keys are on.
   */
  anonKey: string;
  serviceRoleKey: string;
  dbUrl: string;
  geminiBaseUrl?: string;
  appUrl?: string;
}

export interface RunningStack {
  info: StackInfo;
  keys: ProjectKeys;
  postgres?: RunningPostgres;
  gateway: RunningGateway;
  gemini?: RunningGeminiStandIn;
  dispatch?: Scheduler;
  alerts?: Scheduler;
  prepared: PrepareResult;
  stop(): Promise<void>;
}

/** Postgres (embedded unless a URL is given), then bootstrap + migrations + seed, then the gateway. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const log = options.log ?? (() => {});
  const legacy = options.legacyKeys ?? legacyKeysEnabled();
  const keys = await createProjectKeys({
    signingKeys: options.signingKeys ?? (await loadSigningKeys(config().signingKeysPath)),
    legacySecret: legacy ? (options.jwtSecret ?? configuredJwtSecret()) : undefined,
  });
  let postgres: RunningPostgres | undefined;
  let dbUrl = options.dbUrl;
  if (!dbUrl) {
    postgres = await startPostgres({
      dataDir: options.dataDir ?? path.join(localDir, 'db'),
      port: options.dbPort,
      log: (line) => log(`[postgres] ${line}`),
    });
    dbUrl = postgres.url;
  }
  let gemini: RunningGeminiStandIn | undefined;
  let gateway: RunningGateway | undefined;
  try {
    await checkMajorVersion(dbUrl, log);
    const prepared = await prepareDatabase(dbUrl, { seed: options.seed ?? config().seed, log });
    // With a real key the worker talks to Gemini itself; otherwise to the local stand-in.
    const realGemini = Boolean(process.env.GEMINI_API_KEY);
    if (!realGemini) {
      gemini = await startGeminiStandIn({ port: options.geminiPort ?? 0, log: (line) => log(`[gemini] ${line}`) });
    }
    const geminiEnv: Record<string, string> = realGemini
      ? {
          GEMINI_API_KEY: process.env.GEMINI_API_KEY!,
          ...(process.env.GEMINI_BASE_URL ? { GEMINI_BASE_URL: process.env.GEMINI_BASE_URL } : {}),
        }
      : { GEMINI_API_KEY: 'local-stand-in', GEMINI_BASE_URL: gemini!.url };
    if (process.env.GEMINI_MODEL) geminiEnv.GEMINI_MODEL = process.env.GEMINI_MODEL;
    // Trace export (docs/tracing.md): the standard OTEL_* variables reach the worker as secrets
    // set on a hosted project would; Next.js reads them from the same environment.
    const tracingEnv = Object.fromEntries(Object.entries(process.env).filter(([name, value]) => name.startsWith('OTEL_') && value !== undefined)) as Record<string, string>;
    const running = await startGateway({
      dbUrl,
      port: options.apiPort,
      keys,
      auth: { jwtExpiry: config().jwtExpiry, refreshTokenReuseInterval: config().refreshTokenReuseInterval },
      log: (line) => log(`[gateway] ${line}`),
      services: options.services,
      storage: { root: options.storageRoot ?? path.join(localDir, 'storage') },
      functions: { env: { ...geminiEnv, ...tracingEnv } },
    });
    gateway = running;
    const dispatch =
      options.worker === false
        ? undefined
        : await startWorkerDispatch({
            dbUrl,
            apiUrl: running.url,
            secretKey: keys.secretKey,
            log: (line) => log(`[scheduler] ${line}`),
          });
    const alertOptions = options.alerts ?? (options.worker === false ? false : {});
    let alerts: Scheduler | undefined;
    try {
      if (alertOptions) {
        // Written on every start: the setting is this start's, whatever an earlier one left.
        await allowLoopbackAlertTargets(dbUrl, alertOptions.allowLoopbackTargets ?? false);
        alerts = await startAlertDelivery({ dbUrl, evaluateEveryMs: alertOptions.evaluateEveryMs, log: (line) => log(`[alerts] ${line}`) });
      }
    } catch (error) {
      await dispatch?.stop();
      throw error;
    }
    return {
      info: {
        apiUrl: running.url,
        publishableKey: keys.publishableKey,
        secretKey: keys.secretKey,
        legacyKeys: legacy,
        anonKey: keys.anonKey ?? keys.publishableKey,
        serviceRoleKey: keys.serviceRoleKey ?? keys.secretKey,
        dbUrl,
        geminiBaseUrl: geminiEnv.GEMINI_BASE_URL,
      },
      keys,
      postgres,
      gateway: running,
      gemini,
      dispatch,
      alerts,
      prepared,
      async stop() {
        await alerts?.stop();
        await dispatch?.stop();
        await running.close().catch((e) => log(`gateway close: ${e.message}`));
        await gemini?.close();
        await postgres?.stop();
      },
    };
  } catch (error) {
    await gateway?.close().catch(() => {});
    await gemini?.close();
    await postgres?.stop();
    throw error;
  }
}

/**
 * config.toml's `[db] major_version` is the hosted project's Postgres; a local database of
 * another major version can accept SQL the project's cannot (or the reverse), so say so.
 */
async function checkMajorVersion(dbUrl: string, log: (line: string) => void) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
    const major = Math.floor(Number(rows[0]!.v) / 10000);
    if (major !== config().dbMajorVersion) {
      log(`warning: the database is Postgres ${major}, but supabase/config.toml says [db] major_version = ${config().dbMajorVersion}`);
    }
  } finally {
    await client.end();
  }
}

export const stackFile = path.join(localDir, 'stack.json');

/** `.local/stack.json`: the contract other tools read to find a running stack. */
export function writeStackFile(info: StackInfo) {
  fs.mkdirSync(localDir, { recursive: true });
  const { anonKey, serviceRoleKey, ...current } = info;
  const published = info.legacyKeys ? { ...current, anonKey, serviceRoleKey } : current;
  fs.writeFileSync(stackFile, `${JSON.stringify(published, null, 2)}\n`);
}

export function removeStackFile() {
  fs.rmSync(stackFile, { force: true });
}
