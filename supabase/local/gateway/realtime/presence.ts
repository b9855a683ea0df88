import { randomBytes } from 'node:crypto';
import type { JoinedChannel } from './channel.ts';

/**
 * Presence, as Phoenix.Presence shapes it: per room, each key (the channel's presence key) has a
 * list of metas, one per tracking channel, each with a unique `phx_ref`. Joins and leaves go
 * out as `presence_diff {joins, leaves}`; a joining channel gets the whole `presence_state`.
 * In memory: one gateway process is the whole local cluster.
 */
type Meta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
type PresenceMap = Record<string, { metas: Meta[] }>;

interface Entry {
  channel: JoinedChannel;
  meta: Meta;
}

export class PresenceRooms {
  private rooms = new Map<string, Map<string, Entry[]>>();

  constructor(private readonly broadcastDiff: (roomKey: string, diff: { joins: PresenceMap; leaves: PresenceMap }) => void) {}

  state(roomKey: string): PresenceMap {
    const room = this.rooms.get(roomKey);
    const out: PresenceMap = {};
    if (!room) return out;
    for (const [key, entries] of room) out[key] = { metas: entries.map((e) => e.meta) };
    return out;
  }

  track(channel: JoinedChannel, payload: Record<string, unknown>) {
    let room = this.rooms.get(channel.roomKey);
    if (!room) this.rooms.set(channel.roomKey, (room = new Map()));
    const entries = room.get(channel.presenceKey) ?? [];
    const existing = entries.find((e) => e.channel === channel);
    const meta: Meta = { ...payload, phx_ref: randomBytes(8).toString('base64url') };
    const leaves: PresenceMap = {};
    if (existing) {
      // An update is a leave of the old meta and a join of the new one that names it.
      meta.phx_ref_prev = existing.meta.phx_ref;
      leaves[channel.presenceKey] = { metas: [existing.meta] };
      existing.meta = meta;
    } else {
      entries.push({ channel, meta });
    }
    room.set(channel.presenceKey, entries);
    this.broadcastDiff(channel.roomKey, { joins: { [channel.presenceKey]: { metas: [meta] } }, leaves });
  }

  untrack(channel: JoinedChannel) {
    const room = this.rooms.get(channel.roomKey);
    const entries = room?.get(channel.presenceKey);
    const index = entries?.findIndex((e) => e.channel === channel) ?? -1;
    if (!room || !entries || index < 0) return;
    const [removed] = entries.splice(index, 1);
    if (entries.length === 0) room.delete(channel.presenceKey);
    if (room.size === 0) this.rooms.delete(channel.roomKey);
    this.broadcastDiff(channel.roomKey, { joins: {}, leaves: { [channel.presenceKey]: { metas: [removed!.meta] } } });
  }
}
