import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { repoRoot } from '../../supabase/local/config.ts';
import { freePort } from '../../supabase/local/postgres.ts';
import { startStack, type RunningStack } from '../../supabase/local/stack.ts';
import { launchChromium } from './chromium.ts';

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

const NEXT_READY_TIMEOUT_MS = 120_000;

export async function startE2eStack(): Promise<E2eStack> {
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
    log: verbose ? (line) => console.error(line) : undefined,
  });
  let next: ChildProcess | undefined;
  let browser: Browser | undefined;
  const stopAll = async () => {
    await browser?.close().catch(() => {});
    if (next && next.exitCode === null) {
      const exited = new Promise((resolve) => next!.once('exit', resolve));
      next.kill('SIGTERM');
      await exited;
    }
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const appUrl = `http://localhost:${appPort}`;
    // One fixed directory (Next.js adds its types to tsconfig.json by name): e2e specs run one at a time.
    const distDir = '.next-e2e';
    next = spawn(process.execPath, [path.join(repoRoot, 'node_modules/next/dist/bin/next'), 'dev', '-p', String(appPort)], {
      cwd: repoRoot,
      env: {
        ...process.env,
        NEXT_PUBLIC_SUPABASE_URL: stack.info.apiUrl,
        NEXT_PUBLIC_SUPABASE_ANON_KEY: stack.info.anonKey,
        NEXT_TELEMETRY_DISABLED: '1',
        // Its own build directory, so a developer's `npm run dev` in this folder keeps running.
        NEXT_DIST_DIR: distDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForNext(next, verbose);
    browser = await launchChromium();
    fs.mkdirSync(screenshotDir, { recursive: true });
    return { stack, appUrl, browser, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Resolves on next's "Ready" line; rejects if it exits first (a port clash, or another `next dev` holding the lock). */
function waitForNext(child: ChildProcess, verbose: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`next dev was not ready after ${NEXT_READY_TIMEOUT_MS} ms:\n${output}`)), NEXT_READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      if (verbose) process.stderr.write(text);
      if (/Ready in/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`next dev exited with ${code}:\n${output}`));
    });
  });
}
