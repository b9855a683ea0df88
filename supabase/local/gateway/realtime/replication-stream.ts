import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  decodePgOutput,
  lsnToText,
  PG_EPOCH_OFFSET_US,
  type Lsn,
  type RelationMessage,
  type TupleValue,
} from './pgoutput.ts';

/**
 * The logical replication feed Realtime reads: one persistent `pgoutput` slot owned by this
 * server, streaming the publications `supabase_realtime` (Postgres Changes) and
 * `supabase_realtime_messages_publication` (Broadcast from Database).
 *
 * Delivery guarantee. The slot is persistent, so it survives the replication connection: when
 * Postgres restarts or the walsender is killed, the stream reconnects (backoff 100 ms doubling
 * to 2 s, forever until closed) and resumes from the slot's confirmed flush LSN. That LSN only
 * moves when the consumer calls `acknowledge()` after it has handed a transaction to every
 * connected subscriber, so a transaction committed while the feed was down, or being delivered
 * when it broke, is sent again: at-least-once from the slot. Transactions this process already
 * delivered are recognised by their end LSN and skipped, so across a Postgres restart each
 * change reaches each connected subscriber once. A subscriber whose own socket was down when a
 * change was delivered misses it (as on Supabase, Realtime keeps no per-subscriber backlog): a
 * client that rejoins must refetch the state it shows. The slot is dropped on close; a slot
 * left behind by a crashed process (its pid is in the name) is dropped at the next start, since
 * an inactive slot pins WAL and blocks DROP DATABASE.
 */

export interface ChangeTuple {
  kind: 'insert' | 'update' | 'delete';
  relation: RelationMessage;
  newTuple?: TupleValue[];
  oldTuple?: TupleValue[];
  keyTuple?: TupleValue[];
}

export interface ReplicatedTransaction {
  endLsn: Lsn;
  /** 32-bit transaction id (visibility wait before RLS checks). */
  xid: number;
  /** Commit time, milliseconds since the Unix epoch (microsecond precision in `commitTimeUs`). */
  commitTimeMs: number;
  commitTimeUs: bigint;
  changes: ChangeTuple[];
}

export interface ReplicationStreamOptions {
  dbUrl: string;
  publications: string[];
  log(line: string): void;
  /** Called once per committed transaction, in commit order. */
  onTransaction(tx: ReplicatedTransaction): void;
  /** True when every transaction handed out so far has been acknowledged. */
  isDrained(): boolean;
}

const SLOT_PREFIX = 'realtime_local_';
/** wal_sender_timeout is 60 s by default; a status every 10 s keeps the walsender from hanging up. */
const STATUS_INTERVAL_MS = 10_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

interface ReplicationConnection {
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

function nowPgMicros(): bigint {
  return BigInt(Date.now()) * 1000n - PG_EPOCH_OFFSET_US;
}

export class ReplicationStream {
  readonly slotName = `${SLOT_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  private client: pg.Client | undefined;
  private closed = false;
  private connected = false;
  private relations = new Map<number, RelationMessage>();
  private current: ReplicatedTransaction | undefined;
  /** End LSN of the last transaction handed to the consumer (dedupes replays after reconnect). */
  private lastReceivedEndLsn: Lsn = 0n;
  /** Highest LSN the consumer has fully delivered: what we confirm to the slot. */
  private confirmedLsn: Lsn = 0n;
  private statusTimer: NodeJS.Timeout | undefined;
  private trailingStatus: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private lastStatusAt = 0;
  /** Resolves the first time streaming starts; rejects if the very first attempt fails. */
  private readyWaiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  /** Incremented on each successful (re)connection; tests and logs read it. */
  connectionCount = 0;

  constructor(private readonly options: ReplicationStreamOptions) {}

  /** Creates the slot and starts streaming. */
  async start(admin: pg.Pool): Promise<void> {
    await this.dropStaleSlots(admin);
    await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [this.slotName]);
    await new Promise<void>((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      void this.connect();
    });
  }

  get isConnected() {
    return this.connected;
  }

  /** Waits until the stream is (re)connected, or rejects after `timeoutMs`. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('replication stream did not reconnect in time')), timeoutMs);
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** The consumer has delivered everything up to and including this transaction. */
  acknowledge(endLsn: Lsn) {
    if (endLsn > this.confirmedLsn) this.confirmedLsn = endLsn;
    // Under 1,000 tx/s one status per batch adds up; at most one per 20 ms, the last one trailing.
    const wait = 20 - (Date.now() - this.lastStatusAt);
    if (wait <= 0) this.sendStatus(false);
    else if (!this.trailingStatus) {
      this.trailingStatus = setTimeout(() => {
        this.trailingStatus = undefined;
        this.sendStatus(false);
      }, wait);
    }
  }

  /** Walsender pid of the live connection (tests kill it to prove the reconnect). */
  async walsenderPid(admin: pg.Pool): Promise<number | null> {
    const { rows } = await admin.query(`select active_pid from pg_replication_slots where slot_name = $1`, [this.slotName]);
    return rows[0]?.active_pid ?? null;
  }

  async close(admin: pg.Pool): Promise<void> {
    this.closed = true;
    clearInterval(this.statusTimer);
    clearTimeout(this.trailingStatus);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) await client.end().catch(() => {});
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error('replication stream closed'));
    await this.dropSlot(admin, this.slotName);
  }

  private async dropSlot(admin: pg.Pool, slot: string) {
    // The walsender may outlive our socket by a few milliseconds; an active slot cannot be dropped.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await admin.query(
          `select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null`,
          [slot],
        );
        await admin.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1`, [slot]);
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          this.options.log(`realtime: could not drop replication slot ${slot}: ${(error as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private async dropStaleSlots(admin: pg.Pool) {
    const { rows } = await admin.query<{ slot_name: string }>(
      `select slot_name from pg_replication_slots
        where database = current_database() and not active and starts_with(slot_name, $1)`,
      [SLOT_PREFIX],
    );
    for (const { slot_name } of rows) {
      const pid = Number(/^realtime_local_(\d+)_/.exec(slot_name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
      this.options.log(`realtime: dropping replication slot ${slot_name} left by exited process ${pid}`);
      await this.dropSlot(admin, slot_name);
    }
  }

  private scheduleReconnect(reason: string) {
    if (this.closed || this.reconnectTimer) return;
    this.options.log(`realtime: replication stream lost (${reason}); reconnecting in ${this.reconnectDelay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  private async connect() {
    if (this.closed) return;
    this.current = undefined;
    // ISO dates in UTC: the text pgoutput sends is what column-values.ts turns into JSON.
    const client = new pg.Client({
      connectionString: this.options.dbUrl,
      replication: 'database',
      options: '-c DateStyle=ISO,MDY -c TimeZone=UTC',
    } as pg.ClientConfig);
    this.client = client;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      this.connected = false;
      clearInterval(this.statusTimer);
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      if (this.connectionCount === 0 && !this.closed) {
        // The very first start must surface its error instead of retrying forever.
        for (const w of this.readyWaiters.splice(0)) w.reject(error);
        return;
      }
      this.scheduleReconnect(error.message);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection ended')));
    try {
      await client.connect();
    } catch (error) {
      fail(error as Error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    const connection = (client as unknown as { connection: ReplicationConnection }).connection;
    connection.on('copyData', (msg) => {
      try {
        this.onCopyData(msg.chunk);
      } catch (error) {
        fail(error as Error);
      }
    });
    connection.once('replicationStart', () => {
      this.connected = true;
      this.connectionCount++;
      this.reconnectDelay = RECONNECT_MIN_MS;
      this.statusTimer = setInterval(() => this.sendStatus(false), STATUS_INTERVAL_MS);
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    });
    const publications = this.options.publications.map((p) => `"${p.replaceAll('"', '""')}"`).join(',');
    // Identifiers cannot be bound as parameters in the replication protocol: the slot name is
    // ours ([a-z0-9_] only) and the publication list is quoted as identifiers inside a literal.
    if (!/^[a-z0-9_]+$/.test(this.slotName)) throw new Error('invalid slot name');
    const sql = `START_REPLICATION SLOT ${this.slotName} LOGICAL ${lsnToText(this.confirmedLsn)} (proto_version '1', publication_names '${publications.replaceAll("'", "''")}')`;
    client.query(sql).then(
      () => fail(new Error('replication ended')),
      (error: Error) => fail(error),
    );
  }

  private sendStatus(replyRequested: boolean) {
    const connection = (this.client as unknown as { connection?: ReplicationConnection } | undefined)?.connection;
    if (!connection || !this.connected) return;
    const buf = Buffer.alloc(34);
    buf.write('r', 0);
    buf.writeBigUInt64BE(this.confirmedLsn, 1); // written
    buf.writeBigUInt64BE(this.confirmedLsn, 9); // flushed: what the slot may forget
    buf.writeBigUInt64BE(this.confirmedLsn, 17); // applied
    buf.writeBigInt64BE(nowPgMicros(), 25);
    buf.writeUInt8(replyRequested ? 1 : 0, 33);
    connection.sendCopyFromChunk(buf);
    this.lastStatusAt = Date.now();
  }

  private onCopyData(chunk: Buffer) {
    const kind = chunk[0];
    if (kind === 0x6b /* 'k' keepalive */) {
      const walEnd = chunk.readBigUInt64BE(1);
      const replyRequested = chunk[17] === 1;
      // With nothing in flight, everything up to walEnd is either delivered or not ours to
      // deliver (other tables): confirming it lets Postgres recycle WAL.
      if (!this.current && this.options.isDrained() && walEnd > this.confirmedLsn) this.confirmedLsn = walEnd;
      if (replyRequested) this.sendStatus(false);
      return;
    }
    if (kind !== 0x77 /* 'w' XLogData */) return;
    const message = decodePgOutput(chunk.subarray(25));
    switch (message.tag) {
      case 'begin':
        this.current = {
          endLsn: 0n,
          xid: message.xid,
          commitTimeUs: message.commitTimeUs,
          commitTimeMs: Number((message.commitTimeUs + PG_EPOCH_OFFSET_US) / 1000n),
          changes: [],
        };
        return;
      case 'relation':
        this.relations.set(message.relationId, message);
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const relation = this.relations.get(message.relationId);
        if (!relation || !this.current) throw new Error(`pgoutput: change for unknown relation ${message.relationId}`);
        this.current.changes.push({
          kind: message.tag,
          relation,
          newTuple: 'newTuple' in message ? message.newTuple : undefined,
          oldTuple: 'oldTuple' in message ? message.oldTuple : undefined,
          keyTuple: 'keyTuple' in message ? message.keyTuple : undefined,
        });
        return;
      }
      case 'commit': {
        const tx = this.current;
        this.current = undefined;
        if (!tx) return;
        tx.endLsn = message.endLsn;
        if (tx.endLsn <= this.lastReceivedEndLsn) return; // replayed after a reconnect: already delivered
        this.lastReceivedEndLsn = tx.endLsn;
        this.options.onTransaction(tx);
        return;
      }
      default:
        return;
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
