import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RealtimeChannel } from '@supabase/supabase-js';
import type { DatabaseClient } from '../../lib/supabase/database.ts';
import { closeClients, subscribe } from '../../testkit/realtime/channels.ts';
import { createTestClient } from '../../testkit/http/clients.ts';
import { serveParent } from './child-conversation.ts';
import { wallClockMs } from './wall-clock.ts';
import { ADMIN_JOBS_EVENT, ADMIN_JOBS_TOPIC, parseAdminJobChanges } from '../../lib/admin-jobs/admin-job-change.ts';

/**
 * One process of `npm run bench fanout`'s subscribers (started by fanout.ts with fork): a share
 * of the end users, each an official supabase-js client with a WebSocket and a token of its own,
 * and possibly staff clients. Hosting them away from the benchmark's process keeps 1,000
 * clients' frame decoding off the event loop that runs the gateway and the writer.
 *
 * Every message a client receives is checked: an end user's message must be about the user's
 * own job (job id and, where the payload has one, user id); anything else is a leak. A message
 * that passes is recorded as (client, job, progress, time received); the parent matches it with
 * the writer's commit of that progress value. The parent drives everything over IPC.
 */
export type FanoutMode = 'broadcast' | 'postgres_changes';

export interface SubscriberSpec {
  token: string;
  userId: string;
  /** The user's own job; null for staff, who receive every job. */
  jobId: string | null;
}

export type SubscriberRequest =
  | { type: 'connect'; apiUrl: string; key: string; subscribers: SubscriberSpec[] }
  | { type: 'subscribe'; mode: FanoutMode | 'staff' }
  | { type: 'unsubscribe'; mode: FanoutMode | 'staff' }
  | { type: 'count' }
  | { type: 'collect' }
  | { type: 'close' };

/** [subscriber index in this process, job id, progress, wall-clock ms when the callback ran]. */
export type Delivery = [number, string, number, number];

export interface Leak {
  subscriber: number;
  userId: string;
  ownJob: string | null;
  received: unknown;
}

export type SubscriberReply =
  | { type: 'ready' }
  | { type: 'done'; failures: string[] }
  | { type: 'count'; received: number }
  | { type: 'collected'; deliveries: Delivery[]; leaks: Leak[]; eventLoopP99Ms: number; eventLoopMaxMs: number };

/** Private topic of a user's jobs, as the jobs trigger names it. */
export const userTopic = (userId: string) => `user:${userId}:jobs`;
export const STAFF_TOPIC = ADMIN_JOBS_TOPIC;
const JOB_EVENT = 'job_changed';
/** Joins in flight at once: a private join costs the server one RLS probe in Postgres. */
const JOIN_CONCURRENCY = 25;

interface Subscriber extends SubscriberSpec {
  client: DatabaseClient;
  channel?: RealtimeChannel;
}

const subscribers: Subscriber[] = [];
let deliveries: Delivery[] = [];
let leaks: Leak[] = [];
let received = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

function send(message: SubscriberReply) {
  process.send!(message);
}

/** A job change as this subscriber received it: the Broadcast payload or the changed row. */
function receive(index: number, row: { id?: unknown; user_id?: unknown; progress?: unknown } | undefined) {
  const at = wallClockMs();
  received++;
  const s = subscribers[index]!;
  const jobId = typeof row?.id === 'string' ? row.id : null;
  const foreign =
    jobId === null ||
    (s.jobId !== null && jobId !== s.jobId) ||
    (s.jobId !== null && row?.user_id !== undefined && row.user_id !== s.userId);
  if (foreign) {
    leaks.push({ subscriber: index, userId: s.userId, ownJob: s.jobId, received: row });
    return;
  }
  deliveries.push([index, jobId, Number(row?.progress), at]);
}

/**
 * Joins the subscriber's channel for `mode`. A Postgres Changes join is complete when the server
 * says "Subscribed to PostgreSQL" (after SUBSCRIBED, once it has checked the table and filter
 * in Postgres): waiting for it keeps those checks out of the measured phase.
 */
async function join(s: Subscriber, index: number, mode: FanoutMode | 'staff'): Promise<RealtimeChannel> {
  if (mode === 'postgres_changes') {
    let confirmed!: () => void;
    let refused!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => ((confirmed = resolve), (refused = reject)));
    const channel = s.client
      .channel(`jobs-${s.userId}`)
      .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'jobs', filter: `user_id=eq.${s.userId}` }, (e) =>
        receive(index, e.new as { id?: unknown }),
      )
      .on('system', {}, (m: { extension?: string; status?: string; message?: string }) => {
        if (m.extension !== 'postgres_changes') return;
        if (m.status === 'ok') confirmed();
        else refused(new Error(m.message ?? 'postgres_changes refused'));
      });
    await Promise.all([subscribe(channel), ready]);
    return channel;
  }
  // Staff hear one message per statement, carrying each job's change.
  const channel =
    mode === 'staff'
      ? s.client
          .channel(STAFF_TOPIC, { config: { private: true } })
          .on('broadcast', { event: ADMIN_JOBS_EVENT }, (m) => {
            for (const change of parseAdminJobChanges(m.payload)) receive(index, change);
          })
      : s.client.channel(userTopic(s.userId), { config: { private: true } }).on('broadcast', { event: JOB_EVENT }, (m) => receive(index, m.payload as { id?: unknown }));
  await subscribe(channel);
  return channel;
}

/** Runs `task` over `items` with at most `limit` in flight; collects the failures' messages. */
async function pooled<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item).catch((error: Error) => failures.push(error.message ?? String(error)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failures;
}

const isStaff = (s: Subscriber) => s.jobId === null;

async function handle(message: SubscriberRequest) {
  switch (message.type) {
    case 'connect': {
      for (const spec of message.subscribers) {
        const client = createTestClient({ apiUrl: message.apiUrl }, message.key, { accessToken: async () => spec.token });
        subscribers.push({ ...spec, client });
      }
      return send({ type: 'done', failures: [] });
    }
    case 'subscribe': {
      const chosen = subscribers.map((s, i) => [s, i] as const).filter(([s]) => isStaff(s) === (message.mode === 'staff'));
      const failures = await pooled(chosen, JOIN_CONCURRENCY, async ([s, i]) => {
        s.channel = await join(s, i, message.mode);
      });
      return send({ type: 'done', failures });
    }
    case 'unsubscribe': {
      const chosen = subscribers.filter((s) => s.channel && isStaff(s) === (message.mode === 'staff'));
      const failures = await pooled(chosen, JOIN_CONCURRENCY, async (s) => {
        await s.client.removeChannel(s.channel!);
        s.channel = undefined;
      });
      return send({ type: 'done', failures });
    }
    case 'count':
      return send({ type: 'count', received });
    case 'collect': {
      const reply: SubscriberReply = {
        type: 'collected',
        deliveries,
        leaks,
        eventLoopP99Ms: loopDelay.percentile(99) / 1e6,
        eventLoopMaxMs: loopDelay.max / 1e6,
      };
      deliveries = [];
      leaks = [];
      received = 0;
      loopDelay.reset();
      return send(reply);
    }
    case 'close':
      await closeClients(...subscribers.map((s) => s.client));
      process.exit(0);
  }
}

serveParent<SubscriberRequest>(handle);
