import type pg from 'pg';
import { WebSocketServer } from 'ws';
import type { GatewayContext } from '../http.ts';
import { RoleGuard } from './channel-auth.ts';
import type { JoinedChannel } from './channel.ts';
import { maintainMessagePartitions } from './message-partitions.ts';
import { PostgresChanges } from './postgres-changes.ts';
import { PresenceRooms } from './presence.ts';
import { RelationCatalog } from './relation-catalog.ts';
import { ReplicationStream, type ChangeTuple, type ReplicatedTransaction } from './replication-stream.ts';
import { broadcastJsonPayload, encodeText, encodeUserBroadcast, type BroadcastMessage } from './wire-protocol.ts';

/** Partitions of realtime.messages are made ahead and expired hourly (see message-partitions.ts). */
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * The state one Realtime server shares between its connections: rooms (who is joined to what),
 * presence, Postgres Changes bindings, and the replication feed with its delivery loop.
 */
export class RealtimeServer {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: 3 * 1024 * 1024 });
  readonly rooms = new Map<string, Set<JoinedChannel>>();
  readonly catalog: RelationCatalog;
  readonly changes: PostgresChanges;
  readonly roles: RoleGuard;
  readonly presence: PresenceRooms;
  readonly stream: ReplicationStream;
  private started: Promise<void> | undefined;
  private queue: ReplicatedTransaction[] = [];
  private delivering = false;
  private closed = false;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  /** Settles once today's message partitions exist, so a broadcast sent after start has a table. */
  readonly ready: Promise<void>;

  constructor(readonly ctx: GatewayContext) {
    this.catalog = new RelationCatalog(ctx.adminPool);
    this.changes = new PostgresChanges(ctx.adminPool, this.catalog);
    this.roles = new RoleGuard(ctx.adminPool);
    this.presence = new PresenceRooms((room, diff) => this.sendPresenceDiff(room, diff));
    this.stream = new ReplicationStream({
      dbUrl: ctx.dbUrl,
      publications: ['supabase_realtime', 'supabase_realtime_messages_publication'],
      log: ctx.log,
      onTransaction: (tx) => {
        this.deliverDatabaseBroadcasts(tx);
        this.queue.push(tx);
        void this.deliverQueued();
      },
      isDrained: () => this.queue.length === 0 && !this.delivering,
    });
    this.ready = this.maintainMessages();
    this.maintenanceTimer = setInterval(() => void this.maintainMessages().catch(() => {}), MAINTENANCE_INTERVAL_MS);
    this.maintenanceTimer.unref();
  }

  get admin(): pg.Pool {
    return this.ctx.adminPool;
  }

  /**
   * Starts the replication feed on first use. Joins await it, so a change committed after a
   * join's reply is always in the slot. A failed start is retried by the next join.
   */
  ensureStarted(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('realtime server closed'));
    if (!this.started) {
      this.started = this.stream.start(this.admin).then(
        () => {},
        (error: Error) => {
          this.started = undefined;
          throw error;
        },
      );
    }
    return this.started;
  }

  addToRoom(channel: JoinedChannel) {
    let room = this.rooms.get(channel.roomKey);
    if (!room) this.rooms.set(channel.roomKey, (room = new Set()));
    room.add(channel);
  }

  removeFromRoom(channel: JoinedChannel) {
    const room = this.rooms.get(channel.roomKey);
    room?.delete(channel);
    if (room?.size === 0) this.rooms.delete(channel.roomKey);
  }

  /** Sends a Broadcast to a room; private rooms only reach channels allowed to read broadcasts. */
  broadcast(roomKey: string, message: BroadcastMessage, except?: JoinedChannel) {
    const room = this.rooms.get(roomKey);
    if (!room) return;
    let binary: Buffer | undefined;
    let v1: string | null | undefined;
    for (const channel of room) {
      if (channel === except || channel.closed) continue;
      if (channel.isPrivate && !channel.access.broadcastRead) continue;
      if (channel.connection.vsn === '2.0.0') {
        channel.connection.sendBinary((binary ??= encodeUserBroadcast(channel.topic, message)));
      } else {
        if (v1 === undefined) v1 = broadcastJsonPayload(message);
        if (v1 !== null) channel.connection.sendText(encodeText('1.0.0', null, null, channel.topic, 'broadcast', v1));
      }
    }
  }

  private sendPresenceDiff(roomKey: string, diff: unknown) {
    const room = this.rooms.get(roomKey);
    if (!room) return;
    const json = JSON.stringify(diff);
    for (const channel of room) {
      if (channel.closed || (channel.isPrivate && !channel.access.presenceRead)) continue;
      channel.connection.sendText(encodeText(channel.connection.vsn, null, null, channel.topic, 'presence_diff', json));
    }
  }

  /**
   * Delivery loop for Postgres Changes: everything that arrived while the previous batch was
   * being checked forms the next batch (so RLS checks batch themselves under load), in commit
   * order. The slot is acknowledged only after a batch went out; a failure to reach Postgres
   * retries the same batch.
   */
  private async deliverQueued() {
    if (this.delivering) return;
    this.delivering = true;
    try {
      let delay = RETRY_MIN_MS;
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue.slice();
        try {
          await this.deliverTableChanges(batch);
          delay = RETRY_MIN_MS;
        } catch (error) {
          if (isConnectionError(error)) {
            this.ctx.log(`realtime: delivery waiting for Postgres (${(error as Error).message}); retrying in ${delay} ms`);
            await new Promise((r) => setTimeout(r, delay));
            delay = Math.min(delay * 2, RETRY_MAX_MS);
            continue;
          }
          this.ctx.log(`realtime: dropped a batch of ${batch.length} transactions: ${(error as Error).stack ?? error}`);
        }
        this.queue.splice(0, batch.length);
        this.stream.acknowledge(batch[batch.length - 1]!.endLsn);
      }
    } finally {
      this.delivering = false;
    }
  }

  private async deliverTableChanges(batch: ReplicatedTransaction[]) {
    const tableChanges: Array<{ change: ChangeTuple; tx: ReplicatedTransaction }> = [];
    for (const tx of batch) {
      for (const change of tx.changes) {
        if (!isMessagesTable(change)) tableChanges.push({ change, tx });
      }
    }
    if (tableChanges.length > 0) await this.changes.deliver(tableChanges);
  }

  /**
   * Broadcast from Database goes out the moment its transaction arrives: it needs nothing from
   * Postgres (the subscribers were authorised when they joined), so it never waits behind the
   * RLS checks of Postgres Changes, however slow a policy or however many subscribers, as on
   * Supabase, where the two are separate replication consumers. The slot is still acknowledged
   * only after the transaction's table changes went out, and the stream hands each transaction
   * over once (a replay after a reconnect is skipped by its end LSN), so each message is sent
   * once.
   */
  private deliverDatabaseBroadcasts(tx: ReplicatedTransaction) {
    for (const change of tx.changes) {
      if (change.kind === 'insert' && isMessagesTable(change)) this.deliverDatabaseBroadcast(change);
    }
  }

  /** A row inserted into realtime.messages by realtime.send() / realtime.broadcast_changes(). */
  private deliverDatabaseBroadcast(change: ChangeTuple) {
    const row: Record<string, string | null> = {};
    change.relation.columns.forEach((c, i) => {
      const v = change.newTuple?.[i];
      row[c.name] = typeof v === 'string' ? v : null;
    });
    if (row.extension !== 'broadcast' || !row.topic || !row.event) return;
    const isPrivate = row.private === 't';
    this.broadcast(`${isPrivate ? 'private' : 'public'}:${row.topic}`, {
      event: row.event,
      encoding: 'json',
      body: Buffer.from(row.payload ?? '{}', 'utf8'),
      meta: { id: row.id },
    });
  }

  private async maintainMessages() {
    try {
      await maintainMessagePartitions(this.admin);
    } catch (error) {
      this.ctx.log(`realtime: maintaining realtime.messages partitions failed: ${(error as Error).message}`);
      throw error;
    }
  }

  async close() {
    this.closed = true;
    clearInterval(this.maintenanceTimer);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    if (this.started) {
      await this.started.catch(() => {});
      await this.stream.close(this.admin);
    }
  }
}

/** realtime.messages or one of its partitions: Broadcast from Database, not a table change. */
function isMessagesTable(change: ChangeTuple): boolean {
  return change.relation.schema === 'realtime' && change.relation.name.startsWith('messages');
}

/** Errors that mean "Postgres is restarting or unreachable", worth retrying rather than dropping. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || code === 'ECONNREFUSED' || code === 'ECONNRESET';
  return /terminat|connect|ECONN|closed|timeout/i.test((error as Error)?.message ?? '');
}
