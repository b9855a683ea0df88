import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestCredential } from '../credentials.ts';
import { apiKey, HttpError, readBody, sendJson } from '../http.ts';
import { checkToken, topicAccess } from './channel-auth.ts';
import type { RealtimeServer } from './realtime-server.ts';
import type { BroadcastMessage } from './wire-protocol.ts';

/**
 * Broadcast over HTTP, as Supabase Realtime serves it:
 * - `POST /api/broadcast` with `{messages: [{topic, event, payload, private}]}` (what realtime-js
 *   falls back to when a channel is not joined), and
 * - `POST /api/broadcast/<topic>/events/<event>[?private=true]` with the payload as body
 *   (realtime-js `httpSend`).
 * Both answer 202. Public messages always go out; private ones only if the caller's RLS on
 * realtime.messages allows the write for that topic (service_role bypasses RLS) and are
 * otherwise dropped silently, as Supabase does.
 */
interface OutgoingMessage {
  topic: string;
  isPrivate: boolean;
  message: BroadcastMessage;
}

export async function handleBroadcastApi(server: RealtimeServer, req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
  if (req.method !== 'POST') throw new HttpError(405, { message: 'Method Not Allowed' });
  const check = await checkToken(requestCredential(req, url) ?? apiKey(req, url), server.ctx.keys);
  if (!check.ok) throw new HttpError(401, { message: check.message });
  if (!(await server.roles.allowed(check.claims.role))) throw new HttpError(403, { message: 'role cannot be assumed' });

  const raw = await readBody(req);
  const outgoing: OutgoingMessage[] = [];
  const single = /^\/api\/broadcast\/([^/]+)\/events\/([^/]+)$/.exec(path);
  if (single) {
    const binary = (req.headers['content-type'] ?? '').startsWith('application/octet-stream');
    if (!binary) parseJson(raw); // validates
    outgoing.push({
      topic: decodeURIComponent(single[1]!),
      isPrivate: url.searchParams.get('private') === 'true',
      message: { event: decodeURIComponent(single[2]!), encoding: binary ? 'binary' : 'json', body: raw },
    });
  } else if (path === '/api/broadcast' || path === '/api/broadcast/') {
    const body = parseJson(raw) as { messages?: unknown };
    if (!Array.isArray(body?.messages)) throw new HttpError(422, { errors: { messages: ["can't be blank"] } });
    body.messages.forEach((m: unknown, i: number) => {
      const { topic, event, payload, private: isPrivate } = (m ?? {}) as Record<string, unknown>;
      if (typeof topic !== 'string' || topic === '' || typeof event !== 'string' || event === '' || typeof payload !== 'object' || payload === null) {
        throw new HttpError(422, { errors: { messages: [{ index: i, message: 'topic, event and payload (an object) are required' }] } });
      }
      outgoing.push({
        topic,
        isPrivate: isPrivate === true,
        message: { event, encoding: 'json', body: Buffer.from(JSON.stringify(payload), 'utf8') },
      });
    });
  } else {
    throw new HttpError(404, { message: 'Not Found' });
  }

  const superUser = check.claims.role === 'service_role';
  const allowed = new Map<string, boolean>();
  for (const m of outgoing) {
    if (m.isPrivate && !superUser) {
      let ok = allowed.get(m.topic);
      if (ok === undefined) {
        ok = (await topicAccess(server.admin, check.claims, m.topic, true)).broadcastWrite;
        allowed.set(m.topic, ok);
      }
      if (!ok) continue;
    }
    server.broadcast(`${m.isPrivate ? 'private' : 'public'}:${m.topic}`, m.message);
  }
  sendJson(res, 202, undefined);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, { message: 'Invalid JSON body' });
  }
}
