import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './testkit/browser/chromium.ts';

/**
 * The browser journeys (e2e/*.spec.ts) against the whole product, which global setup starts once
 * for the run on free ports (`next dev`: see e2e/global-setup.ts for why not a production build).
 *
 * One worker: the journeys share that product, and several change what all of them see (a
 * paused model queue, the Gemini stand-in's latency and forced faults, "nothing queued" on
 * System Health), so they run one at a time.
 *
 * No project per persona: most journeys have two personas at once (an admin watching what a user
 * does, support refunding a user's job); fixtures give each its own signed-in page instead.
 */
export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  // Generous for two shared cores: a journey waits on real jobs, a Deno worker and Realtime,
  // and a loaded machine slows each of them down (no journey asserts on time).
  timeout: 180_000,
  expect: { timeout: 45_000 },
  outputDir: 'test-results',
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    // A laptop (the commonest console screen is 1280 to 1366 px wide): every journey, and every
    // picture the README and the docs show, at this size. console-layout.spec.ts adds a phone.
    viewport: { width: 1280, height: 800 },
    // Chromium from the @sparticuz/chromium npm package: nothing downloads a browser.
    launchOptions: await chromiumLaunchOptions(),
    actionTimeout: 45_000,
    navigationTimeout: 90_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
