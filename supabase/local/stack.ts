import fs from 'node:fs';
import path from 'node:path';
import { jwtSecret as configuredJwtSecret, localDir } from './config.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway/server.ts';
import { apiKeys } from './jwt.ts';
import { prepareDatabase, type PrepareResult } from './migrate.ts';
import { startPostgres, type RunningPostgres } from './postgres.ts';

export interface StackOptions {
  /** Postgres data directory (ignored when `dbUrl` is given). */
  dataDir?: string;
  dbPort: number;
  apiPort: number;
  /** An existing Postgres (superuser URL) to use instead of starting the embedded one. */
  dbUrl?: string;
  jwtSecret?: string;
  seed?: boolean;
  log?: (line: string) => void;
  services?: GatewayOptions['services'];
}

export interface StackInfo {
  apiUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  dbUrl: string;
  jwtSecret: string;
  geminiBaseUrl?: string;
  appUrl?: string;
}

export interface RunningStack {
  info: StackInfo;
  postgres?: RunningPostgres;
  gateway: RunningGateway;
  prepared: PrepareResult;
  stop(): Promise<void>;
}

/** Postgres (embedded unless a URL is given), then bootstrap + migrations + seed, then the gateway. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const log = options.log ?? (() => {});
  const secret = options.jwtSecret ?? configuredJwtSecret();
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
  try {
    const prepared = await prepareDatabase(dbUrl, { seed: options.seed, log });
    const gateway = await startGateway({
      dbUrl,
      port: options.apiPort,
      jwtSecret: secret,
      log: (line) => log(`[gateway] ${line}`),
      services: options.services,
      storage: { root: path.join(localDir, 'storage') },
    });
    const keys = apiKeys(secret);
    return {
      info: { apiUrl: gateway.url, ...keys, dbUrl, jwtSecret: secret },
      postgres,
      gateway,
      prepared,
      async stop() {
        await gateway.close().catch((e) => log(`gateway close: ${e.message}`));
        await postgres?.stop();
      },
    };
  } catch (error) {
    await postgres?.stop();
    throw error;
  }
}

export const stackFile = path.join(localDir, 'stack.json');

/** `.local/stack.json`: the contract other tools read to find a running stack. */
export function writeStackFile(info: StackInfo) {
  fs.mkdirSync(localDir, { recursive: true });
  const { jwtSecret: _secret, ...published } = info;
  fs.writeFileSync(stackFile, `${JSON.stringify(published, null, 2)}\n`);
}

export function removeStackFile() {
  fs.rmSync(stackFile, { force: true });
}
