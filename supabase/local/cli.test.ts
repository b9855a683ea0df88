import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from './config.ts';
import { freePort } from './postgres.ts';
import { signedInClient } from '../../testkit/http/clients.ts';

/**
 * `npm run stack` as a newcomer runs it: the real CLI in its own process, on free ports, with
 * its `.local` in a temporary folder (JOBHEALTH_LOCAL_DIR) so a developer's stack is untouched.
 */
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-cli-'));
fs.chmodSync(localDir, 0o755);
after(() => fs.rmSync(localDir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function runCli(command: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'supabase/local/cli.ts'), command], {
    cwd: repoRoot,
    env: { ...process.env, JOBHEALTH_LOCAL_DIR: localDir, GEMINI_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

function untilReady(run: Run): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => run.output().includes('Job Health local stack is running.') && resolve();
    run.child.stdout!.on('data', check);
    void run.exit.then((code) => reject(new Error(`stack exited (${code}) before it was ready:\n${run.output()}`)));
  });
}

function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startAndCheck(ports: { api: string; db: string }) {
  const run = runCli('stack', {
    SUPABASE_API_PORT: ports.api,
    SUPABASE_DB_PORT: ports.db,
    GEMINI_STANDIN_PORT: String(await freePort()),
  });
  await untilReady(run);
  const info = JSON.parse(fs.readFileSync(path.join(localDir, 'stack.json'), 'utf8'));
  assert.equal(info.apiUrl, `http://127.0.0.1:${ports.api}`);
  assert.equal(info.dbUrl, `postgresql://postgres:postgres@127.0.0.1:${ports.db}/postgres`);
  assert.ok(info.publishableKey && info.secretKey);
  assert.match(info.geminiBaseUrl, /^http:\/\/127\.0\.0\.1:\d+$/, 'the local Gemini stand-in runs without GEMINI_API_KEY');
  const models = await fetch(`${info.geminiBaseUrl}/v1beta/models`, { headers: { 'x-goog-api-key': 'local' } });
  assert.equal(models.status, 200);
  assert.ok(run.output().includes('alice@example.com'), 'the banner lists the demo accounts');

  const { client: supabase } = await signedInClient(info, 'alice');
  assert.equal((await supabase.auth.getUser()).data.user?.email, 'alice@example.com');

  const postmaster = Number(fs.readFileSync(path.join(localDir, 'db', 'postmaster.pid'), 'utf8').split('\n')[0]);
  run.child.kill('SIGTERM');
  assert.equal(await run.exit, 0);
  assert.equal(alive(postmaster), false, 'SIGTERM stops Postgres too');
  assert.equal(fs.existsSync(path.join(localDir, 'stack.json')), false, 'stack.json goes with the stack');
}

describe('npm run stack', () => {
  test('starts from nothing, serves the demo accounts, and stops every child on SIGTERM; then starts again on the existing data', async () => {
    const ports = { api: String(await freePort()), db: String(await freePort()) };
    await startAndCheck(ports);
    assert.ok(fs.existsSync(path.join(localDir, 'db', 'PG_VERSION')), 'data is kept under .local/db');
    await startAndCheck(ports);
  });

  test('a taken port is a one-line error and exit code 1', async () => {
    const blocker = net.createServer();
    const taken = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    try {
      const run = runCli('stack', {
        SUPABASE_API_PORT: String(await freePort()),
        SUPABASE_DB_PORT: String(taken),
        GEMINI_STANDIN_PORT: String(await freePort()),
      });
      assert.equal(await run.exit, 1);
      const lines = run.output().trim().split('\n').filter((l) => l.startsWith('error:'));
      assert.deepEqual(lines, [
        `error: Postgres port ${taken} is already in use; stop what holds it or set SUPABASE_DB_PORT`,
      ]);
    } finally {
      blocker.close();
    }
  });

  test('db:reset starts clean', async () => {
    const run = runCli('db:reset', { SUPABASE_DB_PORT: String(await freePort()) });
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /database reset: \d+ migrations applied, seeded/);
  });
});
