import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import pg from 'pg';
import { startScheduler, type Scheduler } from './scheduler.ts';

/**
 * The local platform's alerting, doing what pg_cron and pg_net do on a hosted project (see
 * migrations/*_alert_schedules.sql): it runs evaluate_alerts() every minute and sends the
 * deliveries the SQL queues. What to send, to which URL, with which headers and signature, and
 * when to retry, is decided in SQL (take_alert_deliveries, finish_alert_delivery); this only
 * makes the HTTP calls and reports how each ended.
 *
 * It runs beside the worker's dispatch with its own connections, and each call has a timeout
 * and runs on its own: a slow or dead receiver costs its own messages their time, never another
 * channel's, the pipeline or the evaluation.
 */
export const ALERT_DELIVERY_CHANNEL = 'alert_delivery';

/**
 * How long a receiver has to answer, as on a hosted project (send_alert_deliveries_via_pg_net):
 * 5 s, so that each of pg_net's batches there ends before the next 10-second tick.
 */
export const ALERT_TIMEOUT_MS = 5_000;

export interface AlertDeliveryOptions {
  dbUrl: string;
  /** Default 60 s, as pg_cron's every-minute schedule. */
  evaluateEveryMs?: number;
  /** Default 5 s: how late a retry that came due may be picked up. */
  sweepMs?: number;
  /** Default 5 s, as the hosted sender's pg_net timeout. */
  timeoutMs?: number;
  /** Default 50: calls open at once. */
  maxInFlight?: number;
  log?: (line: string) => void;
}

interface DueDelivery {
  id: string;
  attempt: number;
  url: string | null;
  headers: Record<string, string>;
  body: string;
}

/**
 * Addresses a delivery may not reach, checked again after DNS: the SQL refuses such IP literals
 * when a URL is saved, but a public-looking name can resolve to one.
 */
const PRIVATE_RANGES = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv4');
  }
  // IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are matched against the IPv4 ranges above.
  for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
    list.addSubnet(net, prefix, 'ipv6');
  }
  return list;
})();

/** Loopback hosts as the SQL allows them when the local platform is configured to. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Refuses a URL whose host name resolves to a private, loopback or link-local address. A URL
 * naming a loopback host itself passed the SQL check only because the local configuration
 * allows it, and is let through.
 */
export async function checkDeliveryTarget(url: string): Promise<void> {
  // An IPv6 host comes bracketed ([::1]); DNS and isIP want it bare.
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost')) return;
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true });
  for (const { address, family } of addresses) {
    if (PRIVATE_RANGES.check(address, family === 6 ? 'ipv6' : 'ipv4')) {
      throw new Error(`${host} resolves to ${address}, a private or loopback address; not sent`);
    }
  }
}

/** Makes one delivery's call; resolves with the HTTP status, or an error in words. */
async function send(delivery: DueDelivery, timeoutMs: number): Promise<{ status: number | null; error: string | null }> {
  if (!delivery.url) return { status: null, error: 'the channel has no URL' };
  try {
    await checkDeliveryTarget(delivery.url);
    const response = await fetch(delivery.url, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
      // A redirect could lead anywhere the URL check would have refused.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text().catch(() => '');
    return response.ok
      ? { status: response.status, error: null }
      : { status: response.status, error: `the receiver answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
  } catch (error) {
    const e = error as Error;
    const message = e.name === 'TimeoutError' ? `the receiver did not answer within ${timeoutMs / 1000} s` : e.message;
    return { status: null, error: message };
  }
}

/** Makes one delivery's call and records how it ended. */
async function sendAndRecord(db: pg.Pool, delivery: DueDelivery, timeoutMs: number): Promise<void> {
  const { status, error } = await send(delivery, timeoutMs);
  await db.query('select private.finish_alert_delivery($1, $2, $3, $4)', [delivery.id, delivery.attempt, status, error]);
}

const takeDue = async (db: pg.Pool, limit: number) =>
  (await db.query<DueDelivery>(`select * from private.take_alert_deliveries('local', $1)`, [limit])).rows;

/**
 * Takes what is due (at most `limit`), sends each in parallel, and resolves once every answer
 * is recorded. Returns how many were taken. One pass, for tests and scripts; the running sender
 * (startAlertDelivery) waits for no call before taking the next delivery.
 */
export async function deliverDueAlerts(db: pg.Pool, { timeoutMs = ALERT_TIMEOUT_MS, limit = 20 } = {}): Promise<number> {
  const rows = await takeDue(db, limit);
  await Promise.all(rows.map((delivery) => sendAndRecord(db, delivery, timeoutMs)));
  return rows.length;
}

/**
 * Starts the evaluation schedule and the sender: NOTIFY `alert_delivery` (sent when a delivery
 * is queued, and when an "opened" message ends while its "resolved" one waits) sends at once;
 * a sweep picks up retries as they come due.
 *
 * Each call runs on its own: the sender takes what is due, starts every call and returns to
 * listening, so a receiver that never answers holds only its own delivery, for its timeout,
 * while every other message, of that channel or another, goes out as it is queued. At most
 * `maxInFlight` calls are open at once (a burst of incidents times many channels); a call
 * that ends makes room and takes what waited.
 */
export async function startAlertDelivery(options: AlertDeliveryOptions): Promise<Scheduler> {
  // Each open call needs no connection; only taking and recording do, briefly.
  const db = new pg.Pool({ connectionString: options.dbUrl, max: 4 });
  db.on('error', (error) => options.log?.(`alert delivery pool: ${error.message}`));
  const timeoutMs = options.timeoutMs ?? ALERT_TIMEOUT_MS;
  const maxInFlight = options.maxInFlight ?? 50;
  const inFlight = new Set<Promise<void>>();
  // Set once the scheduler has started; a call that ends before then has nobody to wake.
  const running: { scheduler?: Scheduler } = {};
  const start = (delivery: DueDelivery) => {
    const call: Promise<void> = sendAndRecord(db, delivery, timeoutMs)
      .catch((error: Error) => options.log?.(`alert delivery ${delivery.id}: ${error.message}`))
      .finally(() => {
        const wasFull = inFlight.size >= maxInFlight;
        inFlight.delete(call);
        if (wasFull) running.scheduler?.poke();
      });
    inFlight.add(call);
  };
  const scheduler = await startScheduler({
    dbUrl: options.dbUrl,
    channel: ALERT_DELIVERY_CHANNEL,
    sweepMs: options.sweepMs ?? 5_000,
    invoke: async () => {
      // Drain: a burst of incidents queues more than one batch.
      for (let room = maxInFlight - inFlight.size; room > 0; room = maxInFlight - inFlight.size) {
        const due = await takeDue(db, Math.min(room, 20));
        if (due.length === 0) break;
        due.forEach(start);
      }
    },
    tasks: [{ name: 'evaluate_alerts', sql: 'select public.evaluate_alerts()', everyMs: options.evaluateEveryMs ?? 60_000 }],
    log: options.log,
  });
  running.scheduler = scheduler;
  const stop = scheduler.stop.bind(scheduler);
  scheduler.stop = async () => {
    await stop();
    // Calls already made are answered or time out, and recorded, before the pool closes.
    await Promise.allSettled([...inFlight]);
    await db.end().catch(() => {});
  };
  return scheduler;
}

/** Lets webhook channels target this machine over http (tests and local receivers only). */
export async function allowLoopbackAlertTargets(dbUrl: string, allow: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query('update private.alert_settings set allow_loopback_http = $1 where id', [allow]);
  } finally {
    await client.end();
  }
}
