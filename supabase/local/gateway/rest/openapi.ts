import type { SchemaCache } from './schema-cache.ts';

/**
 * A minimal OpenAPI (Swagger 2.0) description of the exposed schema at `GET /rest/v1/`, the
 * shape PostgREST serves there: one path per relation and per function, one definition per
 * relation with its columns. Enough for tools that list tables; not a full description.
 */
export function openApiDocument(cache: SchemaCache, url: URL) {
  const paths: Record<string, object> = { '/': { get: { produces: ['application/openapi+json', 'application/json'] } } };
  const definitions: Record<string, object> = {};
  for (const table of [...cache.tables.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    paths[`/${table.name}`] = { get: { tags: [table.name] } };
    const properties: Record<string, object> = {};
    for (const column of table.columns.values()) properties[column.name] = { format: column.type };
    definitions[table.name] = {
      type: 'object',
      required: [...table.columns.values()].filter((c) => !c.nullable && c.defaultExpr === null).map((c) => c.name),
      properties,
    };
  }
  for (const name of [...cache.routines.keys()].sort()) paths[`/rpc/${name}`] = { post: { tags: ['(rpc) ' + name] } };
  return {
    swagger: '2.0',
    info: { title: 'PostgREST API', description: 'Local PostgREST-compatible API', version: '12' },
    host: url.host,
    basePath: '/rest/v1',
    schemes: [url.protocol.replace(':', '')],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    definitions,
  };
}
