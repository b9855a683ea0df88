import { HttpError, type GatewayContext, type GatewayService } from '../http.ts';
import { handleBroadcastApi } from './broadcast-api.ts';
import { RealtimeServer } from './realtime-server.ts';
import { SocketConnection } from './socket-connection.ts';
import type { Vsn } from './wire-protocol.ts';

/**
 * Supabase Realtime at `/realtime/v1`: the Phoenix WebSocket at `/websocket` (Broadcast,
 * Presence, Postgres Changes, private channels authorised by RLS on realtime.messages, Broadcast
 * from Database) and the HTTP Broadcast API at `/api/broadcast`. The gateway has already checked
 * the API key; channels authenticate with the JWT in their join payload.
 */
export function createRealtimeService(ctx: GatewayContext): GatewayService {
  const server = new RealtimeServer(ctx);
  return {
    async handle(req, res, path, url) {
      if (path.startsWith('/api/broadcast')) return handleBroadcastApi(server, req, res, path, url);
      throw new HttpError(404, { message: 'Not Found' });
    },
    upgrade(req, socket, head, path, url) {
      const vsn = (url.searchParams.get('vsn') ?? '1.0.0') as Vsn;
      if (path.replace(/\/+$/, '') !== '/websocket' || (vsn !== '1.0.0' && vsn !== '2.0.0')) {
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"message":"Not Found"}');
        return;
      }
      const key = (typeof req.headers.apikey === 'string' && req.headers.apikey) || url.searchParams.get('apikey') || '';
      server.wss.handleUpgrade(req, socket, head, (ws) => new SocketConnection(server, ws, vsn, key));
    },
    ready: server.ready,
    close: () => server.close(),
  };
}
