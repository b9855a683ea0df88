import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { cacheAllFunctionDependencies } from '../supabase/local/gateway/functions/index.ts';
import { startNextApp, type RunningNextApp } from '../supabase/local/next-app.ts';
import { freePort } from '../supabase/local/postgres.ts';
import { startStack, type RunningStack } from '../supabase/local/stack.ts';
import { chromiumLaunchOptions } from '../testkit/browser/chromium.ts';
import { DEMO_USERS } from '../testkit/demo-users.ts';
import { signIn } from '../testkit/browser/sign-in.ts';
import { publishStackInfo, TRACE_URL_TEMPLATE } from './support/e2e-env.ts';

/**
 * The whole product, once for the run: Postgres in a temp directory, the gateway, worker
 * dispatch and Gemini stand-in on free ports (startStack), and `next dev` on a free port pointed
 * at them. Free ports, a temp directory and its own Next.js build directory, so the journeys pass
 * while a developer's `npm run dev` runs in the same folder. Returns the teardown.
 */
const NOT_A_JOB = '00000000-0000-4000-8000-000000000000';

// `next dev` compiles a route on its first request, which takes seconds on two cores: long
// enough to hide a job's whole running phase from a journey watching it. Every route the
// journeys open is compiled here first, in a browser (server and client code both), so they
// measure the app, not the compiler.
const WARM_ROUTES = {
  admin: [
    '/admin', '/admin/jobs', `/admin/jobs/${NOT_A_JOB}`, '/admin/models', '/admin/users', `/admin/users/${DEMO_USERS.alice.id}`, '/admin/audit', '/admin/retention',
    '/admin/alerts', '/admin/incidents',
  ],
  alice: ['/jobs', `/jobs/${NOT_A_JOB}`],
} as const;

export default async function globalSetup(): Promise<() => Promise<void>> {
  const verbose = process.env.JOBHEALTH_VERBOSE === '1';
  const log = verbose ? (line: string) => console.error(line) : undefined;
  await cacheAllFunctionDependencies(log);

  // A world-traversable parent: as root, Postgres runs as the "postgres" user.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-e2e-'));
  fs.chmodSync(dataDir, 0o755);
  const [dbPort, apiPort, appPort] = [await freePort(), await freePort(), await freePort()];
  let stack: RunningStack | undefined;
  let next: RunningNextApp | undefined;
  const teardown = async () => {
    await next?.stop();
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // As a hosted project that has switched its legacy keys off: only the publishable and secret
    // keys and ES256 tokens work, so every journey proves the product needs nothing else.
    process.env.SUPABASE_LEGACY_KEYS = 'off';
    stack = await startStack({
      dataDir: path.join(dataDir, 'db'),
      dbPort,
      apiPort,
      seed: true,
      storageRoot: path.join(dataDir, 'storage'),
      // The alerts journey's webhook receiver listens on 127.0.0.1, and it waits for an incident
      // to open and resolve: rules are evaluated every 5 s instead of every minute.
      alerts: { allowLoopbackTargets: true, evaluateEveryMs: 5_000 },
      log,
    });
    // No rule fires unless a journey switches it on: the other journeys fail jobs on purpose,
    // and an incident opened by them would lay a banner over pages they photograph.
    await disableAlertRules(stack.info.dbUrl);
    // Dev mode, not `next build` + `next start`: React reports hydration mismatches, key
    // warnings and the like only in development, and the journeys fail on them. A production
    // build would also have to be made for every run, since NEXT_PUBLIC_* are inlined at build
    // time and the stack's ports are new each time.
    next = await startNextApp({
      port: appPort,
      env: {
        NEXT_PUBLIC_SUPABASE_URL: stack.info.apiUrl,
        NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: stack.info.publishableKey,
        // The server's only secret: it stores the gallery thumbnails it makes (lib/supabase/secret.ts).
        SUPABASE_SECRET_KEY: stack.info.secretKey,
        // One fixed directory (Next.js adds its types to tsconfig.json by name), not .next, which
        // `npm run dev` locks.
        NEXT_DIST_DIR: '.next-e2e',
        // The job page links each job's trace id to the operator's tracing tool; never followed here.
        JOBHEALTH_TRACE_URL_TEMPLATE: TRACE_URL_TEMPLATE,
      },
      output: verbose ? (chunk) => process.stderr.write(chunk) : undefined,
      // A bound on liveness only: on two busy cores the first compile of the sign-in page alone
      // has taken over two minutes, and the node tests run beside the journeys.
      readyTimeoutMs: 10 * 60_000,
    });
    await warmRoutes(next.url);
    publishStackInfo({
      appUrl: next.url,
      apiUrl: stack.info.apiUrl,
      publishableKey: stack.info.publishableKey,
      secretKey: stack.info.secretKey,
      dbUrl: stack.info.dbUrl,
      geminiBaseUrl: stack.info.geminiBaseUrl!,
    });
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}

async function disableAlertRules(dbUrl: string) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    await db.query('update public.alert_rules set enabled = false where enabled');
  } finally {
    await db.end();
  }
}

async function warmRoutes(appUrl: string) {
  const started = Date.now();
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch(await chromiumLaunchOptions());
    await Promise.all(
      Object.entries(WARM_ROUTES).map(async ([user, routes]) => {
        const context = await browser!.newContext();
        const page = await context.newPage();
        page.setDefaultTimeout(180_000);
        await signIn(page, appUrl, user as keyof typeof WARM_ROUTES, routes[0]);
        for (const route of routes.slice(1)) await page.goto(`${appUrl}${route}`, { waitUntil: 'load' });
        await context.close();
      }),
    );
  } finally {
    await browser?.close();
  }
  console.log(`e2e: ${Object.values(WARM_ROUTES).flat().length} routes compiled in ${Math.round((Date.now() - started) / 1000)} s`);
}
