import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { FilterParseError, parseFilters } from './change-filters.ts';
import { checkToken, topicAccess, type ChannelClaims, type TopicAccess } from './channel-auth.ts';
import { roomKey, type ClientConnection, type JoinedChannel } from './channel.ts';
import type { PgBinding } from './postgres-changes.ts';
import type { RealtimeServer } from './realtime-server.ts';
import { decodeFrame, encodeText, type BroadcastMessage, type InboundFrame, type Vsn } from './wire-protocol.ts';

/** The server re-verifies a channel's token at least this often, and exactly when it expires. */
const CONFIRM_TOKEN_INTERVAL_MS = 5 * 60 * 1000;
/**
 * Phoenix closes a socket that sent nothing for 60 s; realtime-js heartbeats every 25 s, so only
 * a client that vanished without closing (laptop lid, dropped network) is reaped.
 */
const IDLE_TIMEOUT_MS = 60_000;
const FULL_ACCESS: TopicAccess = { broadcastRead: true, presenceRead: true, broadcastWrite: true, presenceWrite: true };

interface ChannelState extends JoinedChannel {
  token: string;
  tokenTimer?: NodeJS.Timeout;
  /** Private channels learn their write rights on first send; sends queue behind that check. */
  writeCheck?: Promise<TopicAccess>;
  /** Serialises sends of a private channel so an authorisation query cannot reorder them. */
  sendChain: Promise<void>;
}

/** `:erlang.phash2`-sized integer id for a postgres_changes binding, stable for equal params. */
function bindingId(params: unknown): number {
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(params)) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7ffffff;
}

/** One WebSocket: Phoenix heartbeats, channel joins and leaves, and what joined channels send. */
export class SocketConnection implements ClientConnection {
  private channels = new Map<string, ChannelState>();
  /** Latest join ref per topic, so a slow join superseded by a newer one is dropped. */
  private pendingJoins = new Map<string, string | null>();
  private lastSeen = Date.now();
  private idleTimer: NodeJS.Timeout;

  constructor(
    private readonly server: RealtimeServer,
    private readonly ws: WebSocket,
    readonly vsn: Vsn,
    private readonly apiKey: string,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', () => ws.terminate());
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.lastSeen > IDLE_TIMEOUT_MS) ws.terminate();
    }, IDLE_TIMEOUT_MS / 4);
    this.idleTimer.unref();
  }

  sendText(frame: string) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  sendBinary(frame: Buffer) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, { binary: true });
  }

  private reply(joinRef: string | null, ref: string | null, topic: string, status: 'ok' | 'error', response: unknown) {
    this.sendText(encodeText(this.vsn, joinRef, ref, topic, 'phx_reply', JSON.stringify({ status, response })));
  }

  private push(channel: ChannelState, event: string, payload: unknown) {
    this.sendText(encodeText(this.vsn, channel.joinRef, null, channel.topic, event, JSON.stringify(payload)));
  }

  private onMessage(data: Buffer, isBinary: boolean) {
    this.lastSeen = Date.now();
    let frame: InboundFrame;
    try {
      frame = decodeFrame(Array.isArray(data) ? Buffer.concat(data) : data, isBinary, this.vsn);
    } catch (error) {
      this.server.ctx.log(`realtime: dropped an undecodable frame: ${(error as Error).message}`);
      return;
    }
    if (frame.topic === 'phoenix') {
      if (frame.event === 'heartbeat') this.reply(null, frame.ref, 'phoenix', 'ok', {});
      return;
    }
    if (frame.event === 'phx_join') {
      this.join(frame).catch((error: Error) => {
        this.server.ctx.log(`realtime: join of ${frame.topic} failed: ${error.stack ?? error}`);
        this.reply(frame.joinRef, frame.ref, frame.topic, 'error', { reason: 'UnknownErrorOnChannel: Unknown Error on Channel' });
      });
      return;
    }
    const channel = this.channels.get(frame.topic);
    if (!channel || (frame.joinRef && channel.joinRef && frame.joinRef !== channel.joinRef)) {
      this.reply(frame.joinRef, frame.ref, frame.topic, 'error', { reason: 'unmatched topic' });
      return;
    }
    switch (frame.event) {
      case 'phx_leave':
        this.reply(frame.joinRef, frame.ref, frame.topic, 'ok', {});
        this.closeChannel(channel);
        return;
      case 'access_token':
        void this.refreshToken(channel, frame.payload.access_token);
        return;
      case 'broadcast':
        this.onBroadcast(channel, frame);
        return;
      case 'presence':
        this.onPresence(channel, frame);
        return;
      default:
        return; // as Supabase: unknown client events are ignored
    }
  }

  private async join(frame: InboundFrame) {
    const { topic, joinRef, ref } = frame;
    const fail = (reason: string) => this.reply(joinRef, ref, topic, 'error', { reason });
    if (!topic.startsWith('realtime:')) return fail('unmatched topic');
    const subTopic = topic.slice('realtime:'.length);
    if (subTopic === '') return fail('TopicNameRequired: You must provide a topic name');

    // Phoenix semantics: joining a topic this socket already joined replaces the old channel.
    const previous = this.channels.get(topic);
    if (previous) {
      this.sendText(encodeText(this.vsn, previous.joinRef, previous.joinRef, topic, 'phx_close', '{}'));
      this.closeChannel(previous);
    }
    this.pendingJoins.set(topic, joinRef);

    const payload = frame.payload;
    const config = (payload.config ?? {}) as {
      private?: boolean;
      broadcast?: { self?: boolean; ack?: boolean };
      presence?: { key?: string; enabled?: boolean };
      postgres_changes?: Array<Record<string, unknown> | null>;
    };
    const rawToken = payload.access_token ?? payload.user_token;
    const token = typeof rawToken === 'string' && !rawToken.startsWith('sb_') ? rawToken : this.apiKey;
    const check = await checkToken(token, this.server.ctx.keys);
    if (!check.ok) return fail(check.reason);
    if (!(await this.server.roles.allowed(check.claims.role))) {
      return fail(`Unauthorized: The JWT role "${check.claims.role}" cannot be assumed`);
    }
    const isPrivate = config.private === true;
    await this.server.ensureStarted();

    let access = FULL_ACCESS;
    if (isPrivate) {
      try {
        access = { ...(await topicAccess(this.server.admin, check.claims, subTopic, false)) };
      } catch (error) {
        this.server.ctx.log(`realtime: policy check for ${subTopic} failed: ${(error as Error).message}`);
        access = { broadcastRead: false, presenceRead: false, broadcastWrite: false, presenceWrite: false };
      }
      if (!access.broadcastRead && !access.presenceRead) {
        return fail(`Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`);
      }
    }
    if (this.pendingJoins.get(topic) !== joinRef || this.ws.readyState !== WebSocket.OPEN) return; // superseded
    this.pendingJoins.delete(topic);

    const presenceKey = typeof config.presence?.key === 'string' && config.presence.key !== '' ? config.presence.key : randomUUID();
    const channel: ChannelState = {
      connection: this,
      topic,
      subTopic,
      roomKey: roomKey(subTopic, isPrivate),
      joinRef,
      isPrivate,
      claims: check.claims,
      access,
      selfBroadcast: config.broadcast?.self === true,
      ackBroadcast: config.broadcast?.ack === true,
      presenceKey,
      presenceEnabled: config.presence?.enabled === true,
      closed: false,
      token,
      sendChain: Promise.resolve(),
    };

    const params = (Array.isArray(config.postgres_changes) ? config.postgres_changes : []).filter(
      (p): p is Record<string, unknown> => typeof p === 'object' && p !== null,
    );
    const echoed = params.map((p): Record<string, unknown> & { id: number } => ({ ...p, id: bindingId(p) }));
    const bindings: PgBinding[] = [];
    const problems: string[] = [];
    for (const p of echoed) {
      try {
        const event = String(p.event ?? '*').toUpperCase();
        if (!['*', 'INSERT', 'UPDATE', 'DELETE'].includes(event)) throw new FilterParseError(`Invalid event: ${event}`);
        bindings.push({
          id: p.id,
          event: event as PgBinding['event'],
          schema: typeof p.schema === 'string' ? p.schema : 'public',
          table: typeof p.table === 'string' && p.table !== '' ? p.table : '*',
          filters: parseFilters(typeof p.filter === 'string' ? p.filter : undefined),
          select: Array.isArray(p.select) ? p.select.map(String) : undefined,
          channel,
        });
      } catch (error) {
        problems.push((error as Error).message);
      }
    }

    this.channels.set(topic, channel);
    this.server.addToRoom(channel);
    this.server.changes.add(bindings);
    this.reply(joinRef, ref, topic, 'ok', { postgres_changes: echoed });
    if (channel.presenceEnabled && channel.access.presenceRead) {
      this.push(channel, 'presence_state', this.server.presence.state(channel.roomKey));
    }
    this.scheduleTokenCheck(channel);
    if (params.length > 0) {
      const message = problems[0] ?? (await this.validateBindings(bindings));
      if (channel.closed) return;
      if (message) {
        this.server.changes.removeChannel(channel);
        this.push(channel, 'system', { extension: 'postgres_changes', status: 'error', message, channel: subTopic });
      } else {
        this.push(channel, 'system', { extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: subTopic });
      }
    }
  }

  /** Supabase refuses a subscription to a table that does not exist or a filter on a missing column. */
  private async validateBindings(bindings: PgBinding[]): Promise<string | undefined> {
    for (const b of bindings) {
      if (b.table === '*') continue;
      const { rows } = await this.server.admin.query<{ columns: string[] | null }>(
        `select (select array_agg(attname::text) from pg_attribute where attrelid = c.oid and attnum > 0 and not attisdropped) as columns
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relname = $2`,
        [b.schema, b.table],
      );
      const columns = rows[0]?.columns;
      const described = `[event: ${b.event}, schema: ${b.schema}, table: ${b.table}, filters: ${JSON.stringify(b.filters.map((f) => [f.column, f.op, f.values.join(',')]))}]`;
      if (!columns) {
        return `Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: ${described}`;
      }
      const missing = b.filters.find((f) => !columns.includes(f.column));
      if (missing) {
        return `Unable to subscribe to changes with given parameters. An exception happened so please check your connect parameters: ${described}. Exception: invalid column for filter ${missing.column}`;
      }
    }
    return undefined;
  }

  private scheduleTokenCheck(channel: ChannelState) {
    clearTimeout(channel.tokenTimer);
    const untilExpiry = channel.claims.exp === undefined ? Infinity : channel.claims.exp * 1000 - Date.now();
    const delay = Math.max(0, Math.min(CONFIRM_TOKEN_INTERVAL_MS, untilExpiry));
    channel.tokenTimer = setTimeout(async () => {
      if (channel.closed) return;
      const check = await checkToken(channel.token, this.server.ctx.keys);
      if (channel.closed) return;
      if (!check.ok) this.shutdown(channel, check.message);
      else this.scheduleTokenCheck(channel);
    }, delay);
    channel.tokenTimer.unref();
  }

  /** Supabase's shutdown: a `system` error naming the reason, then `phx_close`. */
  private shutdown(channel: ChannelState, message: string) {
    this.push(channel, 'system', { extension: 'system', status: 'error', message, channel: channel.subTopic });
    this.sendText(encodeText(this.vsn, channel.joinRef, channel.joinRef, channel.topic, 'phx_close', '{}'));
    this.closeChannel(channel);
  }

  private async refreshToken(channel: ChannelState, token: unknown) {
    if (typeof token !== 'string' || token.startsWith('sb_') || token === channel.token) return;
    const check = await checkToken(token, this.server.ctx.keys);
    if (!check.ok) return this.shutdown(channel, check.message);
    if (!(await this.server.roles.allowed(check.claims.role))) {
      return this.shutdown(channel, `The JWT role "${check.claims.role}" cannot be assumed`);
    }
    if (channel.isPrivate) {
      const previous = channel.access;
      let access: TopicAccess;
      try {
        access = await topicAccess(this.server.admin, check.claims, channel.subTopic, false);
      } catch {
        return this.shutdown(channel, 'Realtime was unable to connect to the project database');
      }
      if ((previous.broadcastRead && !access.broadcastRead) || (previous.presenceRead && !access.presenceRead)) {
        return this.shutdown(channel, `You no longer have permission to read from this Channel topic: ${channel.subTopic}`);
      }
      channel.access = access;
      channel.writeCheck = undefined;
    }
    channel.token = token;
    channel.claims = check.claims as ChannelClaims;
    this.scheduleTokenCheck(channel);
  }

  private writeAccess(channel: ChannelState): Promise<TopicAccess> {
    if (!channel.isPrivate) return Promise.resolve(FULL_ACCESS);
    channel.writeCheck ??= topicAccess(this.server.admin, channel.claims, channel.subTopic, true).catch((error: Error) => {
      this.server.ctx.log(`realtime: write policy check for ${channel.subTopic} failed: ${error.message}`);
      channel.writeCheck = undefined; // try again on the next send
      return { ...channel.access, broadcastWrite: false, presenceWrite: false };
    });
    return channel.writeCheck;
  }

  private onBroadcast(channel: ChannelState, frame: InboundFrame) {
    const p = frame.payload as { event?: unknown; payload?: unknown };
    const message: BroadcastMessage | undefined =
      frame.broadcast ??
      (typeof p.event === 'string'
        ? { event: p.event, encoding: 'json', body: Buffer.from(JSON.stringify(p.payload ?? {}), 'utf8') }
        : undefined);
    if (!message) return;
    const send = () => {
      this.server.broadcast(channel.roomKey, message, channel.selfBroadcast ? undefined : channel);
      if (channel.ackBroadcast) this.reply(frame.joinRef, frame.ref, frame.topic, 'ok', {});
    };
    if (!channel.isPrivate) return send();
    // Unauthorised private sends are dropped without a reply, as Supabase does.
    channel.sendChain = channel.sendChain.then(async () => {
      const access = await this.writeAccess(channel);
      if (!channel.closed && access.broadcastWrite) send();
    });
  }

  private onPresence(channel: ChannelState, frame: InboundFrame) {
    const event = String(frame.payload.event ?? '').toLowerCase();
    const run = async () => {
      if (channel.closed) return;
      if (event === 'untrack') {
        this.server.presence.untrack(channel);
        return this.reply(frame.joinRef, frame.ref, frame.topic, 'ok', {});
      }
      if (event !== 'track') {
        return this.reply(frame.joinRef, frame.ref, frame.topic, 'error', { reason: `UnknownPresenceEvent: ${event}` });
      }
      const payload = frame.payload.payload ?? {};
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        return this.reply(frame.joinRef, frame.ref, frame.topic, 'error', { reason: 'Presence track payload must be a map' });
      }
      if (channel.isPrivate && !(await this.writeAccess(channel)).presenceWrite) {
        return this.reply(frame.joinRef, frame.ref, frame.topic, 'error', {});
      }
      if (channel.closed) return;
      channel.presenceEnabled = true;
      this.server.presence.track(channel, payload as Record<string, unknown>);
      this.reply(frame.joinRef, frame.ref, frame.topic, 'ok', {});
    };
    channel.sendChain = channel.sendChain.then(run);
  }

  private closeChannel(channel: ChannelState) {
    if (channel.closed) return;
    channel.closed = true;
    clearTimeout(channel.tokenTimer);
    if (this.channels.get(channel.topic) === channel) this.channels.delete(channel.topic);
    this.server.removeFromRoom(channel);
    this.server.changes.removeChannel(channel);
    this.server.presence.untrack(channel);
  }

  private onClose() {
    clearInterval(this.idleTimer);
    this.pendingJoins.clear();
    for (const channel of [...this.channels.values()]) this.closeChannel(channel);
  }
}
