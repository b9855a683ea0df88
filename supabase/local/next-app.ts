import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from './config.ts';

/**
 * `next dev` (or `next start` for a production build) as a child process, resolved only once the
 * app answers an HTTP request: "Ready" on stdout comes before the first page can be served, and a
 * caller that reads `.local/stack.json` and requests the app at once must not be refused.
 */
export interface NextAppOptions {
  port: number;
  /** Variables for the app on top of this process's environment. */
  env: Record<string, string>;
  mode?: 'dev' | 'start';
  /** Where each chunk of Next.js output goes (default: dropped; kept for the error message). */
  output?: (chunk: string) => void;
  readyTimeoutMs?: number;
}

export interface RunningNextApp {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const NEXT_BIN = path.join(repoRoot, 'node_modules/next/dist/bin/next');

export async function startNextApp(options: NextAppOptions): Promise<RunningNextApp> {
  const url = `http://localhost:${options.port}`;
  const child = spawn(process.execPath, [NEXT_BIN, options.mode ?? 'dev', '-p', String(options.port)], {
    cwd: repoRoot,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    if (output.length < 64_000) output += text;
    options.output?.(text);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await untilAnswers(url, child, options.readyTimeoutMs ?? 120_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, child, stop };
}

/** Any HTTP answer counts (the sign-in page, a redirect); a refused connection is retried until the deadline. */
async function untilAnswers(url: string, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`next exited with ${exitCode} before it answered:\n${output()}`);
    try {
      const response = await fetch(`${url}/sign-in`, { redirect: 'manual', signal: AbortSignal.timeout(60_000) });
      await response.body?.cancel();
      return;
    } catch {
      await delay(250);
    }
  }
  throw new Error(`next did not answer at ${url} within ${timeoutMs} ms:\n${output()}`);
}
