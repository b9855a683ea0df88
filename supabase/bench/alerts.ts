import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { signIn } from '../../testkit/browser/sign-in.ts';
import { startNextApp, type RunningNextApp } from '../local/next-app.ts';
import { freePort } from '../local/postgres.ts';
import { startStack, type RunningStack } from '../local/stack.ts';
import { allowLoopbackAlertTargets, startAlertDelivery } from '../local/alert-delivery.ts';
import { launchChromium } from '../../testkit/browser/chromium.ts';
import { signedInClient } from '../../testkit/http/clients.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/database/cluster.ts';
import { as, FLASH, PRO } from '../../testkit/database/fixtures.ts';
import { percentile, round, summary } from '../../testkit/percentiles.ts';
import { until } from '../../testkit/wait.ts';
import { WebhookReceiver } from '../../testkit/http/webhook-receiver.ts';
import { generateHealthHistory } from './health-history.ts';

/**
 * `npm run bench alerts`: how long a failing pipeline takes to tell people, and what the
 * evaluation costs.
 *
 * 1. Time to tell: the whole product running (gateway, the worker in Deno, the Gemini stand-in,
 *    the local scheduler evaluating every minute as pg_cron would, `next dev`, an admin's
 *    Chromium on System Health, a signed-webhook channel pointing at a receiver on this
 *    machine), under a steady load of LOAD_PER_SECOND jobs a second spread over both models.
 *    A fault is injected into the stand-in for one model (every image withheld, so its jobs
 *    fail), and timed from the moment it is set: (a) the incident row (its opened_at), (b) the
 *    banner showing it in the admin's page (stamped in the page by a MutationObserver), (c) the
 *    signed "opened" message at the receiver. Each fault starts at a random moment of the
 *    evaluation's minute. The fault is lifted once the message arrived; the
 *    next incident is on the other model while the first one clears and resolves, so two
 *    incidents are in flight at most. INCIDENTS incidents; every message counted, so a second
 *    "opened" or "resolved" for one incident shows as a duplicate notification.
 *    The rule is model_failure_rate at its defaults (over 10% of at least 20 finished jobs in 5
 *    minutes) except a 1-minute hold-down, so incidents resolve sooner; the other rules are off,
 *    so the receiver hears of these incidents only.
 * 2. Evaluation cost: evaluate_alerts() over a day of history of HISTORY_JOBS jobs and as many
 *    provider calls (supabase/bench/health-history.ts), EVALUATIONS calls after WARMUP, timed at
 *    the client (what the scheduler's call costs) and by the function itself.
 * 3. A dead receiver's cost to the others: the local sender running (as the stack runs it), a
 *    channel whose receiver never answers and a healthy one. Each sample first has a call to the
 *    dead receiver in flight (its test message reached it and is left unanswered until the 5 s
 *    timeout), then sends a test message to the healthy channel and times it from
 *    send_test_alert to its arrival; the peer, in the same run, is the same message with no dead
 *    call in flight. DEAD_RECEIVER_SAMPLES of each.
 * Targets: time to webhook p95 ≤ 120 s; no duplicate notifications; evaluation p95 ≤ 50 ms;
 * a healthy channel's message with a dead receiver in flight at most 1,000 ms (the worst sample).
 */
const HISTORY_JOBS = Number(process.env.BENCH_ALERTS_JOBS ?? 1_000_000);
const WARMUP = 5;
const EVALUATIONS = 60;
const INCIDENTS = Number(process.env.BENCH_ALERTS_INCIDENTS ?? 6);
const LOAD_PER_SECOND = 2;
const WEBHOOK_P95_TARGET_MS = 120_000;
const EVALUATE_P95_TARGET_MS = 50;
const SECRET = 'bench-alerts-signing-secret-0123456789abcdef';
const DEAD_RECEIVER_SAMPLES = 10;
const HEALTHY_DELAY_TARGET_MS = 1_000;
const MODELS = [FLASH, PRO] as const;

async function evaluationCost(): Promise<Record<string, unknown>> {
  const database: TestDatabase = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const history = await generateHealthHistory(client, { jobs: HISTORY_JOBS, calls: HISTORY_JOBS });
    const wall: number[] = [];
    const inside: number[] = [];
    for (let i = 0; i < WARMUP + EVALUATIONS; i++) {
      const started = performance.now();
      const { rows } = await client.query<{ r: { duration_ms: number } }>('select public.evaluate_alerts() as r');
      if (i < WARMUP) continue;
      wall.push(performance.now() - started);
      inside.push(rows[0]!.r.duration_ms);
    }
    return {
      history: { jobs: HISTORY_JOBS, provider_calls: HISTORY_JOBS, ...history },
      evaluate_ms: summary(wall, 1),
      evaluate_in_function_ms: summary(inside, 1),
      evaluate_p95_ms: round(percentile(wall, 0.95), 1),
    };
  } finally {
    await client.end();
    await database.drop();
  }
}

/** Time from send_test_alert to arrival at a healthy receiver, with and without a dead call in flight. */
export async function deadReceiverDelay(): Promise<{ with_dead: number[]; without_dead: number[] }> {
  const database = await createTestDatabase();
  const healthy = await new WebhookReceiver().start();
  const dead = await new WebhookReceiver().start();
  // Never answers: the call ends only by the sender's timeout.
  dead.answer = () => {};
  const db = new pg.Client({ connectionString: database.url });
  let sender: Awaited<ReturnType<typeof startAlertDelivery>> | undefined;
  try {
    await db.connect();
    await allowLoopbackAlertTargets(database.url, true);
    const channel = async (name: string, url: string) =>
      (await as(db, 'admin', (c) => c.query<{ id: string }>(`select id from public.create_alert_channel($1, 'webhook', $2, 'benchmark', $3)`, [name, url, SECRET]))).rows[0]!.id;
    const healthyId = await channel('healthy', healthy.url);
    const deadId = await channel('dead', dead.url);
    sender = await startAlertDelivery({ dbUrl: database.url, evaluateEveryMs: 3_600_000 });
    const timeTest = async () => {
      const before = healthy.received.length;
      const started = Date.now();
      await as(db, 'admin', (c) => c.query('select public.send_test_alert($1)', [healthyId]));
      await until(() => healthy.received.length > before, { label: 'the healthy channel\'s test message', timeoutMs: 60_000, intervalMs: 5 });
      return healthy.received[before]!.at - started;
    };
    const without_dead: number[] = [];
    const with_dead: number[] = [];
    for (let i = 0; i < DEAD_RECEIVER_SAMPLES; i++) {
      without_dead.push(await timeTest());
      const before = dead.received.length;
      await as(db, 'admin', (c) => c.query('select public.send_test_alert($1)', [deadId]));
      await until(() => dead.received.length > before, { label: 'the call to the dead receiver', timeoutMs: 60_000, intervalMs: 5 });
      with_dead.push(await timeTest());
    }
    return { with_dead, without_dead };
  } finally {
    await sender?.stop();
    await db.end().catch(() => {});
    await healthy.stop();
    await dead.stop();
    await database.drop();
  }
}

/**
 * Stamps, in the page, each text the banner shows and when it first showed it. The banner leads
 * with the newest of the run's incidents (they have one severity), by its title.
 */
const BANNER_PROBE = `(() => {
  const seen = [];
  window.__bannerSeen = seen;
  let last = null;
  const check = () => {
    const banner = document.querySelector('[role="status"][aria-label="Open incidents"]');
    const text = banner ? banner.textContent : null;
    if (text !== last && text) seen.push({ text, at: Date.now() });
    last = text;
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
})();`;

interface Measured {
  model: string;
  incident: number;
  to_incident_ms: number;
  to_banner_ms: number | null;
  to_webhook_ms: number;
}

export default async function alertsBenchmark(): Promise<Record<string, unknown>> {
  const deadReceiver = await deadReceiverDelay();
  const cost = await evaluationCost();

  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-bench-alerts-'));
  fs.chmodSync(dataDir, 0o755);
  let stack: RunningStack | undefined;
  let app: RunningNextApp | undefined;
  let browser: Browser | undefined;
  const receiver = await new WebhookReceiver().start();
  const db = new pg.Client({ connectionString: database.url });
  let loading = true;
  let load: Promise<void> = Promise.resolve();
  try {
    await db.connect();
    stack = await startStack({
      dbUrl: database.url,
      dbPort: 0,
      apiPort: await freePort(),
      storageRoot: path.join(dataDir, 'storage'),
      alerts: { allowLoopbackTargets: true },
    });
    stack.gemini!.setLatency({ p50: 300, p99: 300 });
    await db.query(`update public.alert_rules set enabled = (id = 'model_failure_rate') where true`);
    await db.query(`update public.alert_rules set hold_down_minutes = 1 where id = 'model_failure_rate'`);
    await db.query(`insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
                    select id, 100000, 'grant', 'database', 'benchmark' from auth.users`);
    await as(db, 'admin', (c) => c.query(`select public.create_alert_channel('bench receiver', 'webhook', $1, 'benchmark', $2)`, [receiver.url, SECRET]));

    app = await startNextApp({
      port: await freePort(),
      env: { NEXT_PUBLIC_SUPABASE_URL: stack.info.apiUrl, NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY: stack.info.publishableKey, SUPABASE_SECRET_KEY: stack.info.secretKey, NEXT_DIST_DIR: '.next-bench' },
      // A first compile on a shared two-core machine can take minutes.
      readyTimeoutMs: 10 * 60_000,
    });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript(BANNER_PROBE);
    const page: Page = await context.newPage();
    page.setDefaultTimeout(120_000);
    await signIn(page, app.url, 'admin', '/admin');
    await page.getByRole('status', { name: 'Live updates' }).filter({ hasText: 'Live' }).waitFor();

    // The steady load: one job every 1/LOAD_PER_SECOND s, alternating models and users.
    const users = await Promise.all(
      (['alice', 'bob'] as const).map(async (user) => (await signedInClient(stack!.info, user)).client),
    );
    let created = 0;
    let refused = 0;
    load = (async () => {
      for (let i = 0; loading; i++) {
        const { error } = await users[i % 2]!.rpc('create_job', { p_model_id: MODELS[Math.floor(i / 2) % 2]!, p_prompt: `bench alerts ${i}` });
        if (error) refused++;
        else created++;
        await delay(1000 / LOAD_PER_SECOND);
      }
    })();
    // Five minutes of healthy history first, so the window holds what a running service's does.
    await delay(Number(process.env.BENCH_ALERTS_WARM_MS ?? 5 * 60_000));

    const measured: Measured[] = [];
    const openOn = new Map<string, number>();
    const waitResolved = async (model: string) => {
      const incident = openOn.get(model);
      if (incident === undefined) return;
      await until(
        () => receiver.messages('incident.resolved').some((m) => (m.body.incident as { id: number }).id === incident),
        { label: `incident ${incident} to resolve`, timeoutMs: 20 * 60_000, intervalMs: 1000 },
      );
      openOn.delete(model);
    };
    for (let n = 0; n < INCIDENTS; n++) {
      const model = MODELS[n % 2]!;
      await waitResolved(model);
      // A fault starts at any moment of the evaluation's minute, not just after a tick (which is
      // when the previous incident opened): the time to tell depends on that phase.
      await delay(Math.random() * 60_000);
      const faultAt = Date.now();
      stack.gemini!.setFaults({ models: { [model]: { imageSafety: 1 } } });
      const incident = await until(
        async () =>
          (
            await db.query<{ id: string; opened_at: Date }>(
              `select id, opened_at from public.alert_incidents where rule_id = 'model_failure_rate' and subject = $1 and status = 'open' and opened_at >= to_timestamp($2::double precision / 1000)`,
              [model, faultAt],
            )
          ).rows[0],
        { label: `an incident for ${model}`, timeoutMs: 10 * 60_000, intervalMs: 200 },
      );
      const id = Number(incident.id);
      const message = await until(
        () => receiver.messages('incident.opened').find((m) => (m.body.incident as { id: number }).id === id),
        { label: `the opened message of incident ${id}`, timeoutMs: 5 * 60_000, intervalMs: 50 },
      );
      stack.gemini!.setFaults({});
      openOn.set(model, id);
      const bannerAt = await page
        .waitForFunction(
          ({ title, after }) =>
            (window as unknown as { __bannerSeen: { text: string; at: number }[] }).__bannerSeen.find((s) => s.at >= after && s.text.includes(`: ${title}. `))?.at ?? false,
          { title: `Job failure rate of a model: ${model}`, after: faultAt },
          { timeout: 60_000 },
        )
        .then((handle) => handle.jsonValue() as Promise<number>)
        .catch(() => null);
      measured.push({
        model,
        incident: id,
        to_incident_ms: incident.opened_at.getTime() - faultAt,
        to_banner_ms: bannerAt === null ? null : bannerAt - faultAt,
        to_webhook_ms: message.request.at - faultAt,
      });
    }
    for (const model of MODELS) await waitResolved(model);
    loading = false;
    await load;

    // Every message once: a second opened or resolved message for an incident is a duplicate.
    const perKey = new Map<string, number>();
    for (const type of ['incident.opened', 'incident.resolved']) {
      for (const m of receiver.messages(type)) {
        const key = `${type}:${(m.body.incident as { id: number }).id}`;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
      }
    }
    const duplicates = [...perKey.values()].reduce((sum, count) => sum + count - 1, 0);
    const banner = measured.map((m) => m.to_banner_ms).filter((v): v is number => v !== null);
    const webhookP95 = percentile(measured.map((m) => m.to_webhook_ms), 0.95);
    const evaluateP95 = cost.evaluate_p95_ms as number;
    return {
      load: { jobs_per_second: LOAD_PER_SECOND, created, refused },
      incidents: measured,
      time_to_incident_ms: summary(measured.map((m) => m.to_incident_ms), 0),
      time_to_banner_ms: { ...summary(banner, 0), missed: measured.length - banner.length },
      time_to_webhook_ms: summary(measured.map((m) => m.to_webhook_ms), 0),
      messages: { opened: receiver.messages('incident.opened').length, resolved: receiver.messages('incident.resolved').length },
      duplicate_notifications: duplicates,
      ...cost,
      healthy_channel_delay_with_dead_receiver_ms: { ...summary(deadReceiver.with_dead, 0), max: Math.max(...deadReceiver.with_dead) },
      healthy_channel_delay_without_dead_receiver_ms: { ...summary(deadReceiver.without_dead, 0), max: Math.max(...deadReceiver.without_dead) },
      targets: {
        time_to_webhook_p95_ms: WEBHOOK_P95_TARGET_MS,
        evaluate_p95_ms: EVALUATE_P95_TARGET_MS,
        duplicate_notifications: 0,
        healthy_channel_delay_with_dead_receiver_max_ms: HEALTHY_DELAY_TARGET_MS,
      },
      pass: {
        time_to_webhook: webhookP95 <= WEBHOOK_P95_TARGET_MS,
        evaluate: evaluateP95 <= EVALUATE_P95_TARGET_MS,
        duplicates: duplicates === 0,
        healthy_channel_delay_with_dead_receiver: Math.max(...deadReceiver.with_dead) <= HEALTHY_DELAY_TARGET_MS,
      },
    };
  } finally {
    loading = false;
    await load.catch(() => {});
    await browser?.close().catch(() => {});
    await app?.stop();
    await stack?.stop();
    await db.end().catch(() => {});
    await receiver.stop();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
