import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@supabase/supabase-js';
import type { Database, DatabaseClient } from '../../lib/supabase/database.ts';
import WebSocket from 'ws';
import { DEMO_PASSWORD as PASSWORD } from '../../lib/auth/demo-accounts.ts';
import { stackFile } from './stack.ts';

/**
 * `npm run demo`: a steady load of jobs on the running local stack, so a newcomer watching the
 * app or System Health sees the system move. It is a client like any other: it signs in as the
 * demo customers with supabase-js and calls create_job, exactly as the app does; it never
 * touches the database directly. When a customer runs low it signs in as the demo admin and
 * calls grant_credits, which is audited like any goodwill grant.
 *
 * A small share of jobs is made to go wrong: just before creating one, the demo asks the
 * Gemini stand-in (its admin endpoint) to answer the model's next call with a 429, a 503, a
 * safety block or a call that never answers, so retries, timeouts, failures and refunds show.
 * With GEMINI_API_KEY set there is no stand-in and every job is a real call.
 *
 *   npm run demo                    a job every 2 s, or slower if that would trip the spend rule, until Ctrl-C
 *   npm run demo -- --rate 2        two jobs a second (past the spend rule: it says so, and its warning opens)
 *   npm run demo -- --jobs 20       stop after 20 jobs
 *   --faults 0.1                    share of jobs made to go wrong (default 0.1, 0 for none)
 *   --top-up-below 10               grant 200 credits to a customer whose balance falls below this
 */
const CUSTOMERS = ['alice@example.com', 'bob@example.com'];
const ADMIN = 'admin@example.com';
/** Jobs a second when no --rate is given and the spend rule allows it. */
const DEFAULT_RATE = 0.5;
/**
 * The share of the spend rule's threshold the default rate may spend: far enough below it that
 * an hour with more pro jobs than average does not open the warning.
 */
const SPEND_HEADROOM = 0.8;
const TOP_UP = 200;
const MODELS = [
  { id: 'gemini-2.5-flash-image', short: 'flash', weight: 0.8 },
  { id: 'gemini-3-pro-image-preview', short: 'pro', weight: 0.2 },
];
const ASPECT_RATIOS = ['1:1', '1:1', '4:3', '3:4', '16:9', '9:16'];
const SUBJECTS = [
  'a lighthouse at dusk', 'a fox in a snowy forest', 'a bowl of ramen, studio light', 'an isometric city block',
  'a watercolor of a harbour', 'a robot reading a book', 'a mountain lake at sunrise', 'a neon street in the rain',
  'a cat astronaut', 'a botanical illustration of a fern', 'a paper boat on a puddle', 'a desert observatory at night',
];
/** What the stand-in is told to do to the next call, and what the worker makes of it. */
const FAULTS = [
  { outcome: 'rate429', says: 'a 429 (retried after Retry-After)' },
  { outcome: 'error503', says: 'a 503 (retried with backoff)' },
  { outcome: 'blocked', says: 'a safety block (fails, refunded)' },
  { outcome: 'hang', says: 'a call that never answers (times out, retried)' },
] as const;

export class DemoError extends Error {}

interface StackInfo {
  apiUrl: string;
  publishableKey: string;
  geminiBaseUrl?: string;
}

function readStack(): StackInfo {
  if (!fs.existsSync(stackFile)) {
    throw new DemoError('no local stack is running (.local/stack.json not found): start one with `npm run dev` or `npm run stack` first');
  }
  const info = JSON.parse(fs.readFileSync(stackFile, 'utf8')) as Partial<StackInfo>;
  if (!info.apiUrl || !info.publishableKey) throw new DemoError(`${stackFile} has no apiUrl or publishableKey; restart the stack`);
  return info as StackInfo;
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' },
      jobs: { type: 'string' },
      faults: { type: 'string', default: '0.1' },
      'top-up-below': { type: 'string', default: '10' },
    },
  });
  const number = (name: string, raw: string, min: number, max: number) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw new DemoError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  return {
    rate: values.rate === undefined ? null : number('rate', values.rate, 0.01, 50),
    jobs: values.jobs === undefined ? Infinity : number('jobs', values.jobs, 1, 1_000_000),
    faults: number('faults', values.faults!, 0, 1),
    topUpBelow: number('top-up-below', values['top-up-below']!, 0, 100_000),
  };
}

async function signIn(info: StackInfo, email: string): Promise<{ client: DatabaseClient; userId: string; email: string }> {
  const client = createClient<Database>(info.apiUrl, info.publishableKey, {
    auth: { persistSession: false },
    // Node 20 has no global WebSocket; the demo does not subscribe, but the client is complete.
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
  });
  const { data, error } = await client.auth.signInWithPassword({ email, password: PASSWORD });
  if (error || !data.user) throw new DemoError(`could not sign in as ${email}: ${error?.message ?? 'no user'} (was the database seeded?)`);
  return { client, userId: data.user.id, email };
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const pickModel = () => (Math.random() < MODELS[0]!.weight ? MODELS[0]! : MODELS[1]!);
const clock = () => new Date().toISOString().slice(11, 19);

/**
 * The demo and the alert rules agree: the load it adds by default stays under the spend rule
 * (`spend_per_hour`, read as the admin reads it), so a newcomer's console shows no incident that
 * is only the demo's doing. What a job costs is the models' own prices in the demo's mix (a
 * forced fault's failed calls are not billed). A rate asked for that spends more is kept, and
 * the demo says the warning it will open is its own.
 */
async function pace(admin: DatabaseClient, asked: number | null): Promise<{ rate: number; note: string }> {
  const [models, rule] = await Promise.all([
    admin.from('models').select('id, price_usd_per_call'),
    admin.from('alert_rules').select('enabled, threshold, window_minutes').eq('id', 'spend_per_hour').maybeSingle(),
  ]);
  if (models.error) throw new DemoError(`could not read the models' prices: ${models.error.message}`);
  const price = new Map((models.data ?? []).map((m) => [m.id, Number(m.price_usd_per_call)]));
  const usdPerJob = MODELS.reduce((sum, m) => sum + m.weight * (price.get(m.id) ?? 0), 0);
  // The rule sums the cost of its window (an hour by default); per hour, its threshold is this.
  const limit = rule.data?.enabled ? (Number(rule.data.threshold) * 60) / Number(rule.data.window_minutes ?? 60) : null;
  const within = limit === null || usdPerJob === 0 ? DEFAULT_RATE : Math.min(DEFAULT_RATE, (SPEND_HEADROOM * limit) / (3600 * usdPerJob));
  // Two decimals, rounded down, so the printed rate is the one kept.
  const rate = asked ?? Math.max(0.01, Math.floor(within * 100) / 100);
  const usdPerHour = rate * 3600 * usdPerJob;
  const spend = `about $${usdPerHour.toFixed(2)} an hour on Gemini`;
  const note =
    limit === null
      ? `${spend} (the spend rule is off)`
      : usdPerHour > limit
        ? `${spend}, over the spend rule's $${limit.toFixed(2)}: its "Gemini spend per hour" warning will open, and that incident is the demo's doing`
        : `${spend}, under the spend rule's $${limit.toFixed(2)}`;
  return { rate, note };
}

export async function runDemo(argv: string[], out: (line: string) => void = console.log): Promise<void> {
  const parsed = parseOptions(argv);
  const info = readStack();
  const customers = await Promise.all(CUSTOMERS.map((email) => signIn(info, email)));
  const admin = await signIn(info, ADMIN);
  const { rate, note } = await pace(admin.client, parsed.rate);
  const options = { ...parsed, rate };
  out(
    `demo load on ${info.apiUrl}: ${options.rate} job/s from ${CUSTOMERS.join(', ')}` +
      (info.geminiBaseUrl ? `, ${Math.round(options.faults * 100)}% made to go wrong` : ' (Gemini itself: no faults injected)') +
      `; ${note}. Ctrl-C stops.`,
  );

  const created: string[] = [];
  let attempts = 0;
  let stopping = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const topUp = async (customer: (typeof customers)[number]) => {
    const { data } = await customer.client.from('credit_accounts').select('balance').eq('user_id', customer.userId).maybeSingle();
    const balance = Number(data?.balance ?? 0);
    if (balance >= options.topUpBelow) return;
    const { error } = await admin.client.rpc('grant_credits', { p_user_id: customer.userId, p_amount: TOP_UP, p_reason: 'demo load top-up' });
    out(`${clock()}  ${customer.email.padEnd(18)} ${error ? `top-up failed: ${error.message}` : `balance ${balance}, granted ${TOP_UP} credits (audited)`}`);
  };

  const one = async () => {
    const customer = pick(customers);
    await topUp(customer);
    const model = pickModel();
    const aspect = pick(ASPECT_RATIOS);
    const fault = info.geminiBaseUrl && Math.random() < options.faults ? pick(FAULTS) : null;
    if (fault) {
      const response = await fetch(`${info.geminiBaseUrl}/__admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ force: { outcome: fault.outcome, count: 1, model: model.id } }),
      }).catch((error: Error) => ({ ok: false, status: 0, statusText: error.message }) as Response);
      if (!response.ok) out(`${clock()}  stand-in refused the fault (${response.status} ${response.statusText})`);
    }
    const prompt = `demo: ${pick(SUBJECTS)}`;
    const { data, error } = await customer.client.rpc('create_job', {
      p_model_id: model.id,
      p_prompt: prompt,
      p_options: { aspect_ratio: aspect },
    });
    const who = customer.email.padEnd(18);
    if (error) {
      // Over the 20-queued limit, out of credits, a paused model: say so and keep going.
      out(`${clock()}  ${who} ${model.short.padEnd(5)} ${aspect.padEnd(5)} not created: ${error.message}`);
      return;
    }
    const job = data as { id: string; credits_cost: number };
    created.push(job.id);
    out(`${clock()}  ${who} ${model.short.padEnd(5)} ${aspect.padEnd(5)} job ${job.id.slice(0, 8)} queued, ${job.credits_cost} credit${job.credits_cost === 1 ? '' : 's'}: "${prompt}"${fault ? `; next call: ${fault.says}` : ''}`);
  };

  const intervalMs = 1000 / options.rate;
  const started = Date.now();
  while (!stopping && attempts < options.jobs) {
    attempts += 1;
    await one().catch((error: Error) => out(`${clock()}  error: ${error.message}`));
    // Paced from the start, so a slow call does not lower the rate.
    const wait = started + attempts * intervalMs - Date.now();
    if (!stopping && attempts < options.jobs && wait > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);

  // Where the jobs it created stand now (read as their owners, through RLS).
  const counts: Record<string, number> = {};
  for (const customer of customers) {
    const { data } = await customer.client.from('jobs').select('status').in('id', created.slice(-1000));
    for (const row of data ?? []) counts[row.status] = (counts[row.status] ?? 0) + 1;
  }
  out(`stopped: ${created.length} jobs created (${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'})`);
  await Promise.all([...customers, admin].map((c) => c.client.auth.signOut().catch(() => {})));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await runDemo(process.argv.slice(2));
    process.exit(0);
  } catch (error) {
    console.error(`error: ${error instanceof DemoError ? error.message : ((error as Error)?.stack ?? String(error))}`);
    process.exit(1);
  }
}
