import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import pg from 'pg';
import type { TestStack } from '../http/stack.ts';

/**
 * Shared by the Realtime test files (signed-in clients come from ../http/clients.ts): a subscribe that resolves on
 * SUBSCRIBED, an event inbox to await deliveries, and a writer connection. The writer commits
 * with synchronous_commit on: the test cluster turns it off for speed, and then a commit only
 * reaches the walsender when the WAL writer next flushes (up to 200 ms later).
 */
export const DEADLINE_MS = 5_000;

/**
 * A Broadcast message as a `broadcast` listener receives it (the shape realtime-js hands its
 * callback). `payload` is whatever was sent: JSON, an ArrayBuffer for a binary broadcast, or the
 * change record of `realtime.broadcast_changes`.
 */
export interface BroadcastEvent<P = unknown> {
  type: 'broadcast';
  event: string;
  payload: P;
  meta?: { replayed?: boolean; id: string };
}

/** Subscribes and resolves on SUBSCRIBED; rejects with the server's reason otherwise. */
export function subscribe(channel: RealtimeChannel): Promise<RealtimeChannel> {
  return new Promise((resolve, reject) => {
    // Also bounds the wait when the channel was already joined (subscribe() then never calls back).
    const timer = setTimeout(() => reject(new Error(`no SUBSCRIBED for ${channel.topic}`)), DEADLINE_MS * 2);
    channel.subscribe((status, err) => {
      if (status === 'SUBSCRIBED') {
        clearTimeout(timer);
        resolve(channel);
      } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
        clearTimeout(timer);
        reject(err ?? new Error(status));
      }
    });
  });
}

/** Collects events; `next()` awaits the next unread one within the deadline. */
export class Inbox<T = unknown> {
  readonly items: T[] = [];
  private read = 0;
  private waiters: Array<() => void> = [];

  readonly push = (item: T) => {
    this.items.push(item);
    for (const w of this.waiters.splice(0)) w();
  };

  async next(label = 'event', timeoutMs = DEADLINE_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.items.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${label}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items[this.read++]!;
  }

  /** Everything not yet read by `next()`. */
  unread(): T[] {
    return this.items.slice(this.read);
  }
}

/** Polls a condition that has no event of its own, within a bounded deadline. */
export const WRITER_APPLICATION_NAME = 'realtime-test-writer';

export function writer(stack: TestStack): pg.Pool {
  const pool = new pg.Pool({
    connectionString: stack.dbUrl,
    max: 4,
    options: '-c synchronous_commit=on',
    application_name: WRITER_APPLICATION_NAME,
  } as pg.PoolConfig);
  pool.on('error', () => {});
  return pool;
}

/**
 * Leaves every channel and closes the socket. realtime-js's own disconnect() arms a 10 s timer
 * it never clears, which keeps a test process alive for 10 s after its last test; closing the
 * underlying Phoenix socket directly does the same without it.
 */
export async function closeClients(...clients: SupabaseClient[]) {
  for (const c of clients) {
    await c.removeAllChannels();
    const rt = c.realtime as unknown as {
      _cancelPendingDisconnect(): void;
      socketAdapter: { getSocket(): { disconnect(done: () => void, code?: number, reason?: string): void } };
    };
    rt._cancelPendingDisconnect();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      timer.unref();
      rt.socketAdapter.getSocket().disconnect(() => {
        clearTimeout(timer);
        resolve();
      }, 1000, 'test finished');
    });
  }
}

/** Closes the client's WebSocket as a network failure would; realtime-js then reconnects. */
export function dropSocket(client: SupabaseClient) {
  const socket = (client.realtime as unknown as { socketAdapter: { getSocket(): { conn: { close(): void } | null } } }).socketAdapter.getSocket();
  socket.conn?.close();
}
