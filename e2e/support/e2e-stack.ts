import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../../supabase/local/config.ts';
import { startNextApp, type RunningNextApp } from '../../supabase/local/next-app.ts';
import { freePort } from '../../supabase/local/postgres.ts';
import { startStack, type RunningStack, type StackOptions } from '../../supabase/local/stack.ts';
import { launchChromium } from '../../supabase/tests/support/chromium.ts';

/**
 * The whole product for one e2e file: Postgres in a temp directory, the gateway, worker
 * dispatch and Gemini stand-in on free ports (startStack), `next dev` on a free port pointed at
 * them, and a headless Chromium from the npm package (nothing downloads a browser).
 */
export interface E2eStack {
  stack: RunningStack;
  appUrl: string;
  browser: Browser;
  stop(): Promise<void>;
}

export const screenshotDir = path.join(repoRoot, 'test-results');

/** `alerts`: the stack's alerting options (a spec with a webhook receiver on this machine allows loopback). */
export async function startE2eStack(options: { alerts?: StackOptions['alerts'] } = {}): Promise<E2eStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-e2e-'));
  fs.chmodSync(dataDir, 0o755);
  const [dbPort, apiPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const verbose = process.env.JOBHEALTH_VERBOSE === '1';
  const stack = await startStack({
    dataDir: path.join(dataDir, 'db'),
    dbPort,
    apiPort,
    seed: true,
    storageRoot: path.join(dataDir, 'storage'),
    alerts: options.alerts,
    log: verbose ? (line) => console.error(line) : undefined,
  });
  let next: RunningNextApp | undefined;
  let browser: Browser | undefined;
  const stopAll = async () => {
    await browser?.close().catch(() => {});
    await next?.stop();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    next = await startNextApp({
      port: appPort,
      env: {
        NEXT_PUBLIC_SUPABASE_URL: stack.info.apiUrl,
        NEXT_PUBLIC_SUPABASE_ANON_KEY: stack.info.anonKey,
        // Its own build directory, so a developer's `npm run dev` in this folder keeps running.
        // One fixed directory (Next.js adds its types to tsconfig.json by name): specs run one at a time.
        NEXT_DIST_DIR: '.next-e2e',
      },
      output: verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    });
    browser = await launchChromium();
    fs.mkdirSync(screenshotDir, { recursive: true });
    return { stack, appUrl: next.url, browser, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
