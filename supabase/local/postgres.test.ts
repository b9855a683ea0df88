import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from './config.ts';
import { freePort, PostgresStartError, startPostgres } from './postgres.ts';
import { queryOnce } from '../../testkit/database/cluster.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-pgtest-'));
fs.chmodSync(root, 0o755);
after(() => fs.rmSync(root, { recursive: true, force: true }));

function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

describe('embedded Postgres', () => {
  test('initialises, runs with logical WAL, and keeps data across restarts', async () => {
    const dataDir = path.join(root, 'keep');
    const first = await startPostgres({ dataDir, port: await freePort() });
    const [settings] = await queryOnce(first.url, `select current_setting('wal_level') as wal, version() as version`);
    assert.equal(settings!.wal, 'logical');
    assert.match(settings!.version, /^PostgreSQL 17\./);
    await queryOnce(first.url, 'create table kept (n int); insert into kept values (42)');
    await first.stop();
    assert.equal(postmasterPid(dataDir), undefined, 'a clean stop removes postmaster.pid');

    const second = await startPostgres({ dataDir, port: await freePort() });
    assert.deepEqual(await queryOnce(second.url, 'select n from kept'), [{ n: 42 }]);
    await second.stop();
  });

  test('a taken port is a one-line error and leaves no postmaster behind', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    const dataDir = path.join(root, 'clash');
    try {
      await assert.rejects(startPostgres({ dataDir, port }), (error: unknown) => {
        assert.ok(error instanceof PostgresStartError);
        assert.equal(error.message, `Postgres port ${port} is already in use; stop what holds it or set SUPABASE_DB_PORT`);
        return true;
      });
      assert.equal(postmasterPid(dataDir), undefined);
    } finally {
      blocker.close();
    }
  });

  test('a failed start reports the server FATAL line, not undefined, and reaps the process', async () => {
    const dataDir = path.join(root, 'bad-setting');
    await assert.rejects(
      startPostgres({ dataDir, port: await freePort(), settings: { shared_buffers: 'lots' } }),
      (error: unknown) => {
        assert.ok(error instanceof PostgresStartError);
        assert.match(error.message, /^Postgres failed to start on port \d+: .*shared_buffers/);
        assert.ok(!error.message.includes('\n'), 'one line');
        return true;
      },
    );
    assert.equal(postmasterPid(dataDir), undefined);
  });

  test('a postmaster orphaned by a killed parent is stopped before the next start', async () => {
    const dataDir = path.join(root, 'orphan');
    const port = await freePort();
    // A parent that starts Postgres and is then SIGKILLed, as a crashed dev server would be.
    const script = `const { startPostgres } = await import(${JSON.stringify(path.join(repoRoot, 'supabase/local/postgres.ts'))});
      await startPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
      console.log('ready');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      parent.stdout.on('data', (chunk) => chunk.toString().includes('ready') && resolve());
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    parent.kill('SIGKILL');
    await new Promise((r) => parent.once('exit', r));
    const orphan = postmasterPid(dataDir)!;
    assert.ok(alive(orphan), 'the orphaned postmaster outlived its parent');

    const next = await startPostgres({ dataDir, port: await freePort() });
    assert.equal(alive(orphan), false, 'the orphan was stopped');
    assert.deepEqual(await queryOnce(next.url, 'select 1 as ok'), [{ ok: 1 }]);
    await next.stop();
  });
});
