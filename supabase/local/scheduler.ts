import { EventEmitter } from 'node:events';
import pg from 'pg';

/**
 * The local stand-in for what a hosted project does with pg_net and pg_cron: it invokes the
 * job worker the moment a job is enqueued (LISTEN on a channel the enqueue trigger NOTIFYs,
 * so a new job is running within tens of milliseconds rather than after a polling interval),
 * invokes it again on a slow sweep (delayed retries whose run_at has come, jobs a crashed
 * invocation left behind), and runs maintenance SQL (reaper, rollups) on the schedule pg_cron
 * would.
 */
export interface ScheduledTask {
  name: string;
  /** SQL run as the superuser, e.g. `select public.reap_expired_jobs()`. */
  sql: string;
  everyMs: number;
}

export interface SchedulerOptions {
  dbUrl: string;
  /** Calls the worker once; resolves when the invocation has been accepted. */
  invoke: () => Promise<void>;
  /** NOTIFY channel that means "there is work now". */
  channel: string;
  /** Invoke even without a notification this often (ms). */
  sweepMs: number;
  /**
   * SQL answering one row with a boolean `has_work`: when given, the sweep invokes only when it
   * is true (the hosted pg_cron sweep asks the same function), so an idle queue costs no
   * invocation. Notifications always invoke.
   */
  sweepWhen?: string;
  tasks?: ScheduledTask[];
  log?: (line: string) => void;
}

export interface Scheduler extends EventEmitter {
  /** Invoke the worker now (coalesced with any invocation already on its way). */
  poke(): void;
  stop(): Promise<void>;
}

const RECONNECT_MS = 1_000;

export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const log = options.log ?? (() => {});
  const events = new EventEmitter() as Scheduler;
  let stopped = false;
  let listener: pg.Client | undefined;
  const timers: NodeJS.Timeout[] = [];

  // At most one invocation in flight plus one queued behind it: a burst of 1,000 enqueues
  // becomes two HTTP calls, and the worker claims as many jobs as it has room for each time.
  let inFlight = false;
  let again = false;
  const poke = () => {
    if (stopped) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    again = false;
    options
      .invoke()
      .then(() => events.emit('invoked'))
      .catch((error: Error) => {
        log(`worker invocation failed: ${error.message}`);
        events.emit('invoke-error', error);
      })
      .finally(() => {
        inFlight = false;
        if (again) poke();
      });
  };
  events.poke = poke;

  const listen = async () => {
    if (stopped) return;
    const client = new pg.Client({ connectionString: options.dbUrl });
    client.on('error', (error) => log(`scheduler listener: ${error.message}`));
    client.on('end', () => {
      if (stopped) return;
      listener = undefined;
      setTimeout(() => void listen().catch(() => {}), RECONNECT_MS).unref();
    });
    client.on('notification', () => {
      events.emit('notification');
      poke();
    });
    try {
      await client.connect();
      await client.query(`listen ${pg.escapeIdentifier(options.channel)}`);
      listener = client;
      events.emit('listening');
      // Anything enqueued while we were not listening is picked up now.
      poke();
    } catch (error) {
      log(`scheduler could not listen: ${(error as Error).message}`);
      await client.end().catch(() => {});
    }
  };
  await listen();

  const pool = new pg.Pool({ connectionString: options.dbUrl, max: 2 });
  pool.on('error', (error) => log(`scheduler pool: ${error.message}`));

  let sweeping = false;
  const sweep = async () => {
    if (!options.sweepWhen) return poke();
    if (sweeping || stopped) return;
    sweeping = true;
    try {
      const { rows } = await pool.query<{ has_work: boolean }>(options.sweepWhen);
      events.emit('swept', rows[0]?.has_work === true);
      if (rows[0]?.has_work) poke();
    } catch (error) {
      // Cannot tell: invoke, as the sweep did before it asked.
      log(`sweep check failed: ${(error as Error).message}`);
      poke();
    } finally {
      sweeping = false;
    }
  };
  timers.push(setInterval(() => void sweep(), options.sweepMs));
  for (const task of options.tasks ?? []) {
    let running = false;
    const run = async () => {
      if (running || stopped) return; // never overlap a slow run with the next tick
      running = true;
      try {
        await pool.query(task.sql);
        events.emit('task', task.name);
      } catch (error) {
        log(`scheduled task ${task.name} failed: ${(error as Error).message}`);
        events.emit('task-error', task.name, error);
      } finally {
        running = false;
      }
    };
    timers.push(setInterval(() => void run(), task.everyMs));
  }

  events.stop = async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await listener?.end().catch(() => {});
    await pool.end().catch(() => {});
  };
  return events;
}
