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
 * It runs beside the worker's dispatch with its own connections, and each call has a timeout:
 * a slow or dead receiver costs this sender its timeout, never the pipeline or the evaluation.
 */
export const ALERT_DELIVERY_CHANNEL = 'alert_delivery';

export interface AlertDeliveryOptions {
  dbUrl: string;
  /** Default 60 s, as pg_cron's every-minute schedule. */
  evaluateEveryMs?: number;
  /** Default 5 s: how late a retry that came due may be picked up. */
  sweepMs?: number;
  /** Default 10 s, as the hosted sender's pg_net timeout. */
  timeoutMs?: number;
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

/**
 * Takes what is due (at most `limit`), sends each in parallel, and records each answer.
 * Returns how many were taken.
 */
export async function deliverDueAlerts(db: pg.Pool, { timeoutMs = 10_000, limit = 20 } = {}): Promise<number> {
  const { rows } = await db.query<DueDelivery>(`select * from private.take_alert_deliveries('local', $1)`, [limit]);
  await Promise.all(
    rows.map(async (delivery) => {
      const { status, error } = await send(delivery, timeoutMs);
      await db.query('select private.finish_alert_delivery($1, $2, $3, $4)', [delivery.id, delivery.attempt, status, error]);
    }),
  );
  return rows.length;
}

/**
 * Starts the evaluation schedule and the sender: NOTIFY `alert_delivery` (sent when a delivery
 * is queued) sends at once; a sweep picks up retries as they come due.
 */
export async function startAlertDelivery(options: AlertDeliveryOptions): Promise<Scheduler> {
  const db = new pg.Pool({ connectionString: options.dbUrl, max: 4 });
  db.on('error', (error) => options.log?.(`alert delivery pool: ${error.message}`));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const scheduler = await startScheduler({
    dbUrl: options.dbUrl,
    channel: ALERT_DELIVERY_CHANNEL,
    sweepMs: options.sweepMs ?? 5_000,
    invoke: async () => {
      // Drain: a burst of incidents queues more than one batch.
      while ((await deliverDueAlerts(db, { timeoutMs })) > 0) {
        /* next batch */
      }
    },
    tasks: [{ name: 'evaluate_alerts', sql: 'select public.evaluate_alerts()', everyMs: options.evaluateEveryMs ?? 60_000 }],
    log: options.log,
  });
  const stop = scheduler.stop.bind(scheduler);
  scheduler.stop = async () => {
    await stop();
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
