import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { repoRoot } from './config.ts';
import { freePort } from './postgres.ts';
import { startStack, type RunningStack } from './stack.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';

/**
 * `npm run demo` as a newcomer runs it, in its own process, against a running stack (Postgres,
 * gateway, worker and Gemini stand-in on free ports, its stack.json in a temporary .local).
 */
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-demo-'));
fs.chmodSync(localDir, 0o755);
let stack: RunningStack;
let db: pg.Pool;

before(async () => {
  stack = await startStack({
    dataDir: path.join(localDir, 'db'),
    dbPort: await freePort(),
    apiPort: await freePort(),
    storageRoot: path.join(localDir, 'storage'),
  });
  fs.writeFileSync(path.join(localDir, 'stack.json'), JSON.stringify(stack.info));
  db = new pg.Pool({ connectionString: stack.info.dbUrl, max: 2 });
});
after(async () => {
  await db?.end();
  await stack?.stop();
  fs.rmSync(localDir, { recursive: true, force: true });
});

function runDemo(args: string[], dir = localDir) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'supabase/local/demo.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, JOBHEALTH_LOCAL_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const until = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => pattern.test(output) && resolve();
      child.stdout.on('data', check);
      void exit.then((code) => reject(new Error(`demo exited (${code}) before ${pattern}:\n${output}`)));
    });
  return { child, output: () => output, exit, until };
}

describe('npm run demo', () => {
  test('creates jobs from the demo customers at its rate, the worker processes them, and Ctrl-C stops it cleanly', async () => {
    // Every job made to go wrong, and every customer below the top-up line, so both paths run.
    const demo = runDemo(['--rate', '5', '--faults', '1', '--top-up-below', '1000']);
    await demo.until(/(job [0-9a-f]{8} queued.*\n[^]*){6}/);
    demo.child.kill('SIGINT');
    assert.equal(await demo.exit, 0, demo.output());
    assert.match(demo.output(), /stopped: \d+ jobs created/);
    // Five jobs a second is asked for, so kept; the demo says the spend warning will be its own.
    assert.match(demo.output(), /5 job\/s .*about \$1044\.\d\d an hour on Gemini, over the spend rule's \$50\.00: its "Gemini spend per hour" warning will open/);

    const { rows } = await db.query(
      `select id, status, model_id, user_id from public.jobs where prompt like 'demo: %' and user_id = any($1)`,
      [[DEMO_USERS.alice.id, DEMO_USERS.bob.id]],
    );
    assert.ok(rows.length >= 6, `jobs created: ${rows.length}`);
    const printed = [...demo.output().matchAll(/job ([0-9a-f]{8}) queued/g)].map((m) => m[1]);
    assert.deepEqual(rows.map((r) => r.id.slice(0, 8)).sort(), printed.sort(), 'one line per job created');

    // The worker takes them all the way; a forced fault ends in a retry or a refunded failure.
    const deadline = Date.now() + 120_000;
    let statuses: string[] = [];
    for (;;) {
      const current = await db.query(`select status from public.jobs where id = any($1)`, [rows.map((r) => r.id)]);
      statuses = current.rows.map((r) => r.status);
      if (statuses.some((s) => s === 'succeeded' || s === 'failed') && statuses.filter((s) => s !== 'queued').length >= 3) break;
      assert.ok(Date.now() < deadline, `jobs still ${statuses.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const calls = await db.query(`select count(*)::integer as n from public.provider_calls where job_id = any($1)`, [rows.map((r) => r.id)]);
    assert.ok(calls.rows[0].n > 0, 'the worker called the Gemini stand-in for them');

    const grants = await db.query(
      `select target_user_id, credits_moved::integer from public.audit_log where action = 'grant_credits' and reason = 'demo load top-up'`,
    );
    assert.ok(grants.rows.length >= 1, 'a customer below the line was topped up through grant_credits');
    assert.ok(grants.rows.every((g) => g.credits_moved === 200));
    const balances = await db.query(
      `select count(*)::integer as drift from public.credit_accounts a
        where a.balance <> (select sum(delta) from public.credit_ledger l where l.user_id = a.user_id)`,
    );
    assert.equal(balances.rows[0].drift, 0);
  });

  test('without --rate it paces itself under the spend rule, and follows the rule as an admin changed it', async () => {
    const paced = async () => {
      const demo = runDemo(['--jobs', '1', '--faults', '0']);
      assert.equal(await demo.exit, 0, demo.output());
      const line = /demo load on .*: ([\d.]+) job\/s .*; about \$([\d.]+) an hour on Gemini, under the spend rule's \$([\d.]+)\./.exec(demo.output());
      assert.ok(line, demo.output());
      return { rate: Number(line[1]), usdPerHour: Number(line[2]), limit: Number(line[3]) };
    };
    const prices = await db.query<{ usd: number }>(
      `select sum(case id when 'gemini-2.5-flash-image' then 0.8 else 0.2 end * price_usd_per_call)::float as usd from public.models`,
    );
    const defaults = await paced();
    assert.equal(defaults.limit, 50);
    assert.ok(defaults.usdPerHour <= 0.8 * 50 && defaults.usdPerHour > 0.7 * 50, `$${defaults.usdPerHour} an hour`);
    assert.ok(Math.abs(defaults.rate * 3600 * prices.rows[0]!.usd - defaults.usdPerHour) < 0.01, 'the spend printed is the rate kept');

    await db.query(`update public.alert_rules set threshold = 20, window_minutes = 30 where id = 'spend_per_hour'`);
    try {
      const tighter = await paced();
      assert.equal(tighter.limit, 40, '$20 a half hour is $40 an hour');
      assert.ok(tighter.usdPerHour <= 0.8 * 40 && tighter.rate < defaults.rate, `${tighter.rate} job/s, $${tighter.usdPerHour} an hour`);
    } finally {
      await db.query(`update public.alert_rules set threshold = 50, window_minutes = 60 where id = 'spend_per_hour'`);
    }
  });

  test('without a running stack it says so in one line and exits 1', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-demo-empty-'));
    try {
      const demo = runDemo([], empty);
      assert.equal(await demo.exit, 1);
      assert.match(demo.output(), /^error: no local stack is running \(\.local\/stack\.json not found\): start one with `npm run dev` or `npm run stack` first$/m);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  test('a bad option is refused before anything is created', async () => {
    const demo = runDemo(['--rate', 'fast']);
    assert.equal(await demo.exit, 1);
    assert.match(demo.output(), /error: --rate must be a number from 0\.01 to 50, got "fast"/);
  });
});
