/**
 * Phoenix channel frames as realtime-js speaks them.
 * - vsn 1.0.0: JSON objects `{join_ref, ref, topic, event, payload}`.
 * - vsn 2.0.0: JSON arrays `[join_ref, ref, topic, event, payload]`, plus two binary kinds for
 *   Broadcast: kind 3 (client to server, "user broadcast push") and kind 4 (server to client,
 *   "user broadcast"), whose payload is either JSON text or raw bytes.
 */
export type Vsn = '1.0.0' | '2.0.0';

export interface InboundFrame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
  /** Set for binary broadcasts: the user payload exactly as sent, to forward without re-encoding. */
  broadcast?: BroadcastMessage;
}

/** One Broadcast message on its way to subscribers. */
export interface BroadcastMessage {
  event: string;
  /** `json`: `body` is JSON text; `binary`: raw bytes only vsn 2 clients can receive. */
  encoding: 'json' | 'binary';
  body: Buffer;
  meta?: Record<string, unknown>;
}

const USER_BROADCAST_PUSH = 3;
const USER_BROADCAST = 4;
const BINARY_ENCODING = 0;
const JSON_ENCODING = 1;

export class ProtocolError extends Error {}

export function decodeFrame(data: Buffer, isBinary: boolean, vsn: Vsn): InboundFrame {
  if (isBinary) return decodeUserBroadcastPush(data);
  const parsed: unknown = JSON.parse(data.toString('utf8'));
  if (vsn === '2.0.0') {
    if (!Array.isArray(parsed) || parsed.length !== 5) throw new ProtocolError('expected [join_ref, ref, topic, event, payload]');
    const [joinRef, ref, topic, event, payload] = parsed as [string | null, string | null, string, string, unknown];
    return { joinRef: joinRef ?? null, ref: ref ?? null, topic: String(topic), event: String(event), payload: asObject(payload) };
  }
  const m = parsed as { join_ref?: string | null; ref?: string | null; topic?: string; event?: string; payload?: unknown };
  if (typeof m !== 'object' || m === null || typeof m.topic !== 'string' || typeof m.event !== 'string') {
    throw new ProtocolError('expected {topic, event, payload, ref}');
  }
  return { joinRef: m.join_ref ?? null, ref: m.ref ?? null, topic: m.topic, event: m.event, payload: asObject(m.payload) };
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function decodeUserBroadcastPush(buf: Buffer): InboundFrame {
  if (buf.length < 7 || buf[0] !== USER_BROADCAST_PUSH) throw new ProtocolError(`unsupported binary frame kind ${buf[0]}`);
  const [joinRefLen, refLen, topicLen, eventLen, metaLen, encoding] = [buf[1]!, buf[2]!, buf[3]!, buf[4]!, buf[5]!, buf[6]!];
  let offset = 7;
  const take = (n: number) => {
    const s = buf.toString('utf8', offset, offset + n);
    offset += n;
    return s;
  };
  const joinRef = take(joinRefLen);
  const ref = take(refLen);
  const topic = take(topicLen);
  const event = take(eventLen);
  const metaText = take(metaLen);
  const body = Buffer.from(buf.subarray(offset));
  const broadcast: BroadcastMessage = { event, encoding: encoding === JSON_ENCODING ? 'json' : 'binary', body };
  let payload: unknown = undefined;
  if (broadcast.encoding === 'json') payload = JSON.parse(body.toString('utf8'));
  return {
    joinRef: joinRef || null,
    ref: ref || null,
    topic,
    event: 'broadcast',
    payload: { type: 'broadcast', event, payload, ...(metaText ? { meta: JSON.parse(metaText) } : {}) },
    broadcast,
  };
}

/** A text frame whose payload is already JSON text (so fan-out serialises it once). */
export function encodeText(vsn: Vsn, joinRef: string | null, ref: string | null, topic: string, event: string, payloadJson: string): string {
  if (vsn === '2.0.0') {
    return `[${JSON.stringify(joinRef)},${JSON.stringify(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}]`;
  }
  return `{"join_ref":${JSON.stringify(joinRef)},"ref":${JSON.stringify(ref)},"topic":${JSON.stringify(topic)},"event":${JSON.stringify(event)},"payload":${payloadJson}}`;
}

/** Kind 4 frame: `[4, topic_len, event_len, meta_len, encoding] topic event meta payload`. */
export function encodeUserBroadcast(topic: string, message: BroadcastMessage): Buffer {
  const topicBytes = Buffer.from(topic, 'utf8');
  const eventBytes = Buffer.from(message.event, 'utf8');
  const metaBytes = Buffer.from(message.meta ? JSON.stringify(message.meta) : '', 'utf8');
  if (topicBytes.length > 255 || eventBytes.length > 255 || metaBytes.length > 255) {
    throw new ProtocolError('broadcast topic, event and meta must each fit in 255 bytes');
  }
  const header = Buffer.from([
    USER_BROADCAST,
    topicBytes.length,
    eventBytes.length,
    metaBytes.length,
    message.encoding === 'json' ? JSON_ENCODING : BINARY_ENCODING,
  ]);
  return Buffer.concat([header, topicBytes, eventBytes, metaBytes, message.body]);
}

/** The JSON payload of a broadcast for clients that cannot take kind 4 (vsn 1), or null if binary. */
export function broadcastJsonPayload(message: BroadcastMessage): string | null {
  if (message.encoding !== 'json') return null;
  const meta = message.meta ? `,"meta":${JSON.stringify(message.meta)}` : '';
  return `{"type":"broadcast","event":${JSON.stringify(message.event)},"payload":${message.body.toString('utf8')}${meta}}`;
}
