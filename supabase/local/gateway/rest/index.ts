import { HttpError, sendJson, type GatewayContext, type GatewayService } from '../http.ts';
import { PostgrestError } from './errors.ts';
import { handleRestRequest, writeResponse } from './request-handler.ts';
import { SchemaCacheHolder } from './schema-cache.ts';

/**
 * `/rest/v1`: a PostgREST 12 work-alike for schema `public`, as supabase-js (postgrest-js)
 * uses it. Each request verifies the bearer JWT, then runs in one transaction on the
 * `authenticator` pool, as the token's role with its claims set, in a single round trip.
 */
export function createRestService(ctx: GatewayContext): GatewayService {
  const schema = new SchemaCacheHolder(ctx.dbUrl, ctx.adminPool, ctx.log);
  return {
    async handle(req, res, path, url) {
      try {
        await writeResponse(res, await handleRestRequest(ctx, schema, req, path, url));
      } catch (error) {
        if (error instanceof HttpError) {
          const headers = error instanceof PostgrestError ? { 'proxy-status': `PostgREST; error=${error.code}`, ...error.headers } : error.headers;
          sendJson(res, error.status, error.body, headers);
          return;
        }
        throw error;
      }
    },
    async close() {
      await schema.close();
    },
  };
}
