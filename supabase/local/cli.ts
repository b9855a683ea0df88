import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from '../../lib/auth/demo-accounts.ts';
import { defaultPorts, localDir } from './config.ts';
import { MigrationError } from './migrate.ts';
import { addHistoryOnce } from './history.ts';
import { startNextApp, type RunningNextApp } from './next-app.ts';
import { PostgresStartError, startPostgres } from './postgres.ts';
import { prepareDatabase } from './migrate.ts';
import { removeStackFile, startStack, writeStackFile, type RunningStack } from './stack.ts';

const verbose = process.env.JOBHEALTH_VERBOSE === '1';
const dataDir = path.join(localDir, 'db');

function log(line: string) {
  if (verbose || !line.startsWith('[postgres]')) console.log(line);
}

function fail(error: unknown): never {
  const known = error instanceof PostgresStartError || error instanceof MigrationError;
  console.error(`error: ${known ? (error as Error).message : ((error as Error)?.stack ?? String(error))}`);
  process.exit(1);
}

function printBanner(stack: RunningStack, appUrl?: string) {
  const { info } = stack;
  // The keys to use come first; the legacy JWT keys follow while they are on.
  const rows: Array<[string, string]> = [
    ...(appUrl ? [['App URL', appUrl] as [string, string]] : []),
    ['API URL', info.apiUrl],
    ['Publishable key', info.publishableKey],
    ['Secret key', info.secretKey],
    ...(info.legacyKeys
      ? ([
          ['anon key (legacy)', info.anonKey],
          ['service_role key (legacy)', info.serviceRoleKey],
        ] as Array<[string, string]>)
      : [['Legacy keys', 'off (SUPABASE_LEGACY_KEYS=off)'] as [string, string]]),
    ['JWKS', `${info.apiUrl}/auth/v1/.well-known/jwks.json`],
    ['REST API URL', `${info.apiUrl}/rest/v1`],
    ['Realtime URL', `${info.apiUrl.replace('http', 'ws')}/realtime/v1`],
    ['Gemini URL', info.geminiBaseUrl ?? 'Gemini itself (GEMINI_API_KEY is set)'],
    ['DB URL', info.dbUrl],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    '',
    'Job Health local stack is running.',
    '',
    ...rows.map(([label, value]) => `${label.padStart(width)}: ${value}`),
    '',
    `Demo accounts (password "${DEMO_PASSWORD}"): ${DEMO_ACCOUNTS.map((account) => account.email).join(', ')}`,
    'Stack details are in .local/stack.json. Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
}

/**
 * The stand-in answers at once unless told otherwise (tests want that); a person watching the
 * app should see a job wait and run, so the CLI gives it Gemini-like timing by default.
 */
const DEV_STANDIN_LATENCY = '{"p50":2500,"p99":12000}';

async function runStack(withApp: boolean) {
  const ports = defaultPorts();
  process.env.GEMINI_STANDIN_LATENCY_MS ||= DEV_STANDIN_LATENCY;
  const stack = await startStack({
    dataDir,
    dbPort: ports.db,
    apiPort: ports.api,
    dbUrl: process.env.SUPABASE_DB_URL || undefined,
    geminiPort: ports.gemini,
    // A webhook receiver on this machine (http://127.0.0.1:...) for trying alert channels out.
    alerts: { allowLoopbackTargets: process.env.JOBHEALTH_ALERTS_ALLOW_LOOPBACK === '1' },
    log,
  }).catch(fail);
  // Local databases only, once each: a day of history so System Health has something to show.
  const historyJobs = await addHistoryOnce(stack.info.dbUrl).catch(async (error) => {
    await stack.stop();
    fail(error);
  });
  if (historyJobs) log(`added a day of demo history: ${historyJobs} jobs from 40 generated customers`);

  let app: RunningNextApp | undefined;
  let stopping = false;
  const shutdown = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    await app?.stop();
    removeStackFile();
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGHUP', () => void shutdown());
  if (withApp) {
    console.log(`starting Next.js on port ${ports.app}...`);
    app = await startNextApp({
      port: ports.app,
      // The browser's configuration, and the secret key the server stores gallery thumbnails with
      // (lib/supabase/secret.ts; never NEXT_PUBLIC_, so never in a bundle). Never the database URL.
      env: {
        NEXT_PUBLIC_SUPABASE_URL: stack.info.apiUrl,
        NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: stack.info.publishableKey,
        SUPABASE_SECRET_KEY: stack.info.secretKey,
      },
      output: (chunk) => process.stdout.write(chunk),
    }).catch(async (error) => {
      await stack.stop();
      fail(error);
    });
    app.child.on('exit', (code) => {
      if (!stopping) {
        console.error(`Next.js exited (${code}); stopping the stack`);
        void shutdown(1);
      }
    });
  }
  // Written only now that every service it names answers (the app included).
  writeStackFile({ ...stack.info, ...(app ? { appUrl: app.url } : {}) });
  printBanner(stack, app?.url);
}

async function dbReset() {
  if (process.env.SUPABASE_DB_URL) fail(new PostgresStartError('db:reset manages the embedded database; unset SUPABASE_DB_URL'));
  if (fs.existsSync(path.join(localDir, 'stack.json'))) {
    fail(new PostgresStartError('a local stack is running (.local/stack.json exists); stop it before db:reset'));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  const ports = defaultPorts();
  const postgres = await startPostgres({ dataDir, port: ports.db, log: (l) => log(`[postgres] ${l}`) }).catch(fail);
  try {
    const result = await prepareDatabase(postgres.url, { log });
    console.log(`database reset: ${result.applied.length} migrations applied${result.seeded ? ', seeded' : ''}`);
  } catch (error) {
    await postgres.stop();
    fail(error);
  }
  await postgres.stop();
}

const command = process.argv[2];
switch (command) {
  case 'stack':
    await runStack(false);
    break;
  case 'dev':
    await runStack(true);
    break;
  case 'db:reset':
    await dbReset();
    break;
  default:
    console.error('usage: cli.ts stack | dev | db:reset');
    process.exit(2);
}
