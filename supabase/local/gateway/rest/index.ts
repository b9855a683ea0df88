import { HttpError, type GatewayContext, type GatewayService } from '../http.ts';

// Placeholder until the PostgREST-compatible service lands.
export function createRestService(_ctx: GatewayContext): GatewayService {
  return {
    async handle() {
      throw new HttpError(501, { message: 'REST service not built yet' });
    },
  };
}
