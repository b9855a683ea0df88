import { test as base, expect, type BrowserContext, type Locator, type Page, type PageScreenshotOptions } from '@playwright/test';
import type { DatabaseClient } from '@/lib/supabase/database';
import path from 'node:path';
import pg from 'pg';
import type { LatencyConfig } from '../../supabase/local/gemini/latency.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { signIn } from '../../testkit/browser/sign-in.ts';
import { stackInfo, type E2eStackInfo } from './e2e-env.ts';
import { GeminiStandIn } from './gemini-stand-in.ts';
import { PageChecks } from './page-checks.ts';

/**
 * The journeys' `test`: the product global setup started, signed-in pages per persona, the
 * database, the Gemini stand-in and model queues reset or restored around each journey, and the
 * console and accessibility checks on every page (see page-checks.ts).
 */
export type Persona = keyof typeof DEMO_USERS;
const LANDING: Record<Persona, string> = { admin: '/admin', support: '/admin', alice: '/jobs', bob: '/jobs' };

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

interface WorkerFixtures {
  stack: E2eStackInfo;
  /** Superuser connections, for what a journey sets up or checks outside the UI. */
  db: pg.Pool;
  /** A prefix unique to this run, for every prompt and reason a journey writes. */
  tag: string;
  /** Each persona's signed-in cookies, from the first time it signed in through the form. */
  sessions: Map<Persona, StorageState>;
}

interface ModelQueues {
  /** A paused model accepts jobs but no worker claims them: they wait while a journey looks. */
  pause(modelId: string): Promise<void>;
  resume(modelId: string): Promise<void>;
}

interface TestFixtures {
  /** Every Gemini call's latency during the journey (none by default). */
  geminiLatency: LatencyConfig | null;
  gemini: GeminiStandIn;
  pageChecks: PageChecks;
  /** A new browser context signed in as `persona`, on its landing page. */
  pageAs: (persona: Persona) => Promise<Page>;
  adminPage: Page;
  supportPage: Page;
  alicePage: Page;
  /** supabase-js signed in as `persona`, as the app's browser client would be. */
  clientAs: (persona: Persona) => Promise<DatabaseClient>;
  modelQueues: ModelQueues;
  /** Saves `test-results/screenshots/<name>.png` (the README's pictures among them) and attaches it to the report. */
  /** A picture of a page (or of one part of it, a locator) under a fixed name. */
  saveScreenshot: (target: Page | Locator, name: string, options?: Pick<PageScreenshotOptions, 'fullPage'>) => Promise<void>;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  stack: [async ({}, use) => use(stackInfo()), { scope: 'worker' }],
  db: [
    async ({ stack }, use) => {
      const pool = new pg.Pool({ connectionString: stack.dbUrl, max: 2 });
      await use(pool);
      await pool.end();
    },
    { scope: 'worker' },
  ],
  tag: [async ({}, use) => use(`e2e-${Date.now().toString(36)}`), { scope: 'worker' }],
  sessions: [async ({}, use) => use(new Map()), { scope: 'worker' }],

  baseURL: async ({ stack }, use) => use(stack.appUrl),

  geminiLatency: [null, { option: true }],
  gemini: [
    async ({ stack, geminiLatency }, use) => {
      const gemini = new GeminiStandIn(stack.geminiBaseUrl);
      await gemini.reset(geminiLatency);
      await use(gemini);
    },
    { auto: true },
  ],

  // Set up before, and torn down after, every fixture that opens a page: the verdict comes last.
  pageChecks: [
    async ({}, use, testInfo) => {
      const checks = new PageChecks(testInfo);
      await use(checks);
      expect.soft(checks.consoleErrors, 'console errors and uncaught exceptions on the pages visited').toEqual([]);
      expect.soft(checks.violations, 'serious or critical accessibility violations on the pages visited').toEqual([]);
    },
    { auto: true },
  ],
  // Playwright's own page and context, should a journey use them, are held to the same rules.
  context: async ({ context, pageChecks }, use, testInfo) => {
    pageChecks.watch(context);
    await use(context);
    if (testInfo.status === testInfo.expectedStatus) await pageChecks.audit(context, 'anonymous');
  },

  pageAs: async ({ browser, baseURL, pageChecks, sessions }, use, testInfo) => {
    const opened: { context: BrowserContext; persona: Persona }[] = [];
    await use(async (persona) => {
      const context = await browser.newContext({ storageState: sessions.get(persona) });
      pageChecks.watch(context);
      opened.push({ context, persona });
      const page = await context.newPage();
      // The form once per persona (under the same checks as every page); after that its
      // cookies, which saves a page load and a sign-in per journey on a busy machine.
      if (sessions.has(persona)) {
        await page.goto(LANDING[persona]);
      } else {
        await signIn(page, baseURL!, persona, LANDING[persona]);
        sessions.set(persona, await context.storageState());
      }
      return page;
    });
    // A journey that failed already has its verdict; axe on its pages would only add noise.
    for (const { context, persona } of opened) {
      if (testInfo.status === testInfo.expectedStatus) await pageChecks.audit(context, persona);
      await context.close();
    }
  },
  adminPage: async ({ pageAs }, use) => use(await pageAs('admin')),
  supportPage: async ({ pageAs }, use) => use(await pageAs('support')),
  alicePage: async ({ pageAs }, use) => use(await pageAs('alice')),

  clientAs: async ({ stack }, use) => {
    const clients: DatabaseClient[] = [];
    await use(async (persona) => {
      const { client } = await signedInClient(stack, persona);
      clients.push(client);
      return client;
    });
    for (const client of clients) {
      await client.removeAllChannels();
      client.realtime.disconnect();
    }
  },

  modelQueues: async ({ db }, use) => {
    const paused = new Set<string>();
    const setPaused = (modelId: string, value: boolean) => db.query('update public.models set paused = $2 where id = $1', [modelId, value]);
    await use({
      async pause(modelId) {
        paused.add(modelId);
        await setPaused(modelId, true);
      },
      async resume(modelId) {
        paused.delete(modelId);
        await setPaused(modelId, false);
      },
    });
    // The next journey finds every queue running, whatever happened in this one.
    for (const modelId of paused) await setPaused(modelId, false);
  },

  saveScreenshot: async ({}, use, testInfo) => {
    await use(async (target, name, options) => {
      const file = path.join(testInfo.project.outputDir, 'screenshots', `${name}.png`);
      if ('goto' in target) await target.screenshot({ path: file, fullPage: options?.fullPage ?? false });
      else await target.screenshot({ path: file });
      await testInfo.attach(name, { path: file, contentType: 'image/png' });
    });
  },
});

export { expect };
