import { HttpError, type GatewayContext, type GatewayService } from '../http.ts';

// Placeholder until the Realtime service lands.
export function createRealtimeService(_ctx: GatewayContext): GatewayService {
  return {
    async handle() {
      throw new HttpError(501, { message: 'Realtime service not built yet' });
    },
  };
}
