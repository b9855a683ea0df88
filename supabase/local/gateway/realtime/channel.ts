import type { ChannelClaims, TopicAccess } from './channel-auth.ts';
import type { Vsn } from './wire-protocol.ts';

/** A WebSocket connection as the fan-out code sees it. */
export interface ClientConnection {
  readonly vsn: Vsn;
  sendText(frame: string): void;
  sendBinary(frame: Buffer): void;
}

/** One joined channel (`realtime:<topic>`) of one connection. */
export interface JoinedChannel {
  readonly connection: ClientConnection;
  /** `realtime:<subTopic>`, as the client names it in every frame. */
  readonly topic: string;
  readonly subTopic: string;
  /**
   * Public and private channels of the same name are separate rooms, as on Supabase: a message
   * for a private topic never reaches a public subscriber that guessed its name.
   */
  readonly roomKey: string;
  readonly joinRef: string | null;
  readonly isPrivate: boolean;
  claims: ChannelClaims;
  /** RLS-derived rights on a private topic; public channels may do everything. */
  access: TopicAccess;
  readonly selfBroadcast: boolean;
  readonly ackBroadcast: boolean;
  readonly presenceKey: string;
  presenceEnabled: boolean;
  closed: boolean;
}

export function roomKey(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? 'private' : 'public'}:${subTopic}`;
}
