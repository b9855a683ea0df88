import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, type GatewayContext } from '../http.ts';
import {
  columnNotFound,
  fromServerError,
  invalidBody,
  PostgrestError,
  singularityError,
  tableNotFound,
} from './errors.ts';
import { isServerError, runDecided, runPipelined, type Statement, type StatementRows } from './pipeline.ts';
import { acceptedMedia, parsePreferences, type AcceptedMedia, type Preferences } from './preferences.ts';
import { applyQueryParams, applyRangeHeader, buildReadTree, tableScope, type ReadNode } from './read-plan.ts';
import { authenticate, type RequestIdentity } from './request-auth.ts';
import { EXPOSED_SCHEMA, type Routine, type SchemaCache, type SchemaCacheHolder, type Table } from './schema-cache.ts';
import { AliasCounter, Params } from './sql-fragments.ts';
import {
  deleteSql,
  insertSql,
  mutationStatement,
  readStatement,
  routineSource,
  setupStatement,
  updateSql,
  type InsertPayload,
  type Mutation,
} from './statements.ts';
import { openApiDocument } from './openapi.ts';

/** One HTTP answer, written by the service once everything has succeeded or failed. */
export interface RestResponse {
  status: number;
  body?: string;
  headers: Record<string, string>;
}

interface Call {
  req: IncomingMessage;
  url: URL;
  path: string;
  method: string;
  identity: RequestIdentity;
  cache: SchemaCache;
  prefs: Preferences;
  media: AcceptedMedia;
}

/** The first row of the main statement: total, page total, body, response GUCs. */
type MainRow = [string | null, string | null, string | null, string | null, string | null];

export async function handleRestRequest(
  ctx: GatewayContext,
  schema: SchemaCacheHolder,
  req: IncomingMessage,
  path: string,
  url: URL,
): Promise<RestResponse> {
  const method = (req.method ?? 'GET').toUpperCase();
  // As PostgREST: the token is checked before anything else, so a bad token is always 401.
  const identity = await authenticate(req, url, ctx.keys);
  const cache = await schema.get().catch((error: Error) => {
    throw new PostgrestError(503, 'PGRST002', 'Could not query the database for the schema cache. Retrying.', error.message);
  });
  const profile = (method === 'GET' || method === 'HEAD' ? req.headers['accept-profile'] : req.headers['content-profile']) as string | undefined;
  if (profile !== undefined && profile !== EXPOSED_SCHEMA) {
    throw new PostgrestError(406, 'PGRST106', `Invalid schema: ${profile}`, null, `Only the following schemas are exposed: ${EXPOSED_SCHEMA}`);
  }
  const call: Call = { req, url, path, method, identity, cache, prefs: parsePreferences(req), media: acceptedMedia(req) };
  try {
    if (path === '/' || path === '') return rootDocument(call);
    const rpc = /^\/rpc\/([^/]+)\/?$/.exec(path);
    if (rpc) return await callRoutine(ctx, call, decodeURIComponent(rpc[1]!));
    const relation = /^\/([^/]+)\/?$/.exec(path);
    if (!relation) throw new PostgrestError(404, 'PGRST125', 'Invalid path specified in request URL');
    const name = decodeURIComponent(relation[1]!);
    const table = cache.tables.get(name);
    if (!table) throw tableNotFound(name);
    switch (method) {
      case 'GET':
      case 'HEAD':
        return await readTable(ctx, call, table);
      case 'POST':
      case 'PATCH':
      case 'DELETE':
        return await mutateTable(ctx, call, table);
      default:
        throw new PostgrestError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
    }
  } catch (error) {
    if (isServerError(error)) throw fromServerError(error, identity.authed);
    throw error;
  }
}

function rootDocument(call: Call): RestResponse {
  if (call.method !== 'GET' && call.method !== 'HEAD') {
    throw new PostgrestError(405, 'PGRST117', `Unsupported HTTP method: ${call.method}`);
  }
  const body = JSON.stringify(openApiDocument(call.cache, call.url));
  return {
    status: 200,
    body: call.method === 'HEAD' ? undefined : body,
    headers: { 'content-type': 'application/openapi+json; charset=utf-8' },
  };
}

function setup(call: Call, readOnly: boolean): Statement {
  // As on Supabase, where the API gateway strips `/rest/v1` before PostgREST sees the path.
  return setupStatement(call.identity, call.req, call.path, call.cache, readOnly);
}

function countFromPlan(rows: StatementRows | undefined): number | undefined {
  const text = rows?.[0]?.[0];
  if (!text) return undefined;
  const plan = JSON.parse(text) as { Plan: { 'Plan Rows': number } }[];
  return plan[0]?.Plan['Plan Rows'];
}

async function readTable(ctx: GatewayContext, call: Call, table: Table): Promise<RestResponse> {
  const root = buildReadTree(call.cache, table.name, tableScope(table), table, call.url.searchParams.get('select'), new AliasCounter());
  applyQueryParams(root, call.url.searchParams);
  applyRangeHeader(root, call.req.headers.range as string | undefined);
  const head = call.method === 'HEAD';
  const { main, explain } = readStatement(root, call.media, head, call.prefs.count);
  const statements = [setup(call, true), ...(explain ? [explain] : []), main];
  const results = await runPipelined(ctx.apiPool, statements);
  const row = results[results.length - 1]![0] as MainRow;
  const planned = explain ? countFromPlan(results[1]) : undefined;
  return readResponse(call, root, row, planned, head);
}

function readResponse(call: Call, root: ReadNode, row: MainRow, planned: number | undefined, head: boolean): RestResponse {
  const pageTotal = Number(row[1]);
  const total = row[0] !== null ? Number(row[0]) : planned;
  const lower = root.offset ?? 0;
  const upper = lower + pageTotal - 1;
  if (total !== undefined && lower > total) {
    throw new PostgrestError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      `An offset of ${lower} was requested, but there are only ${total} rows.`,
    );
  }
  if (call.media.shape === 'object' && pageTotal !== 1) throw singularityError(pageTotal);
  const range = total !== 0 && lower <= upper ? `${lower}-${upper}` : '*';
  const headers: Record<string, string> = {
    'content-range': `${range}/${total ?? '*'}`,
    'content-type': contentType(call.media),
  };
  const applied = call.prefs.applied.filter((p) => p.startsWith('count='));
  if (applied.length) headers['preference-applied'] = applied.join(', ');
  const status = total !== undefined && pageTotal < total ? 206 : 200;
  return withGucs({ status, body: head ? undefined : (row[2] ?? undefined), headers }, row);
}

function contentType(media: AcceptedMedia): string {
  return media.shape === 'object' ? 'application/vnd.pgrst.object+json; charset=utf-8' : 'application/json; charset=utf-8';
}

/** `response.headers` / `response.status` set by the SQL that ran (a function, a trigger). */
function withGucs(response: RestResponse, row: MainRow): RestResponse {
  if (row[3]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row[3]);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((h) => h && typeof h === 'object' && Object.values(h).every((v) => typeof v === 'string'))) {
      throw new PostgrestError(500, 'PGRST111', 'response.headers guc must be a JSON array composed of objects with a single key and a string value');
    }
    for (const header of parsed as Record<string, string>[]) {
      for (const [name, value] of Object.entries(header)) response.headers[name.toLowerCase()] = value;
    }
  }
  if (row[4]) {
    const status = Number(row[4]);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new PostgrestError(500, 'PGRST112', 'response.status guc must be a valid status code');
    }
    response.status = status;
  }
  return response;
}

async function readJsonBody(req: IncomingMessage): Promise<{ raw: string; value: unknown }> {
  const raw = (await readBody(req)).toString('utf8');
  if (raw.trim() === '') return { raw, value: undefined };
  try {
    return { raw, value: JSON.parse(raw) };
  } catch {
    throw invalidBody();
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `columns=a,b` or supabase-js's `columns="a","b"`. */
function parseColumnList(text: string): string[] {
  return text
    .split(',')
    .map((c) => c.trim())
    .map((c) => (c.length >= 2 && c.startsWith('"') && c.endsWith('"') ? c.slice(1, -1) : c))
    .filter((c) => c !== '');
}

async function mutateTable(ctx: GatewayContext, call: Call, table: Table): Promise<RestResponse> {
  const { url, prefs, method } = call;
  const root = buildReadTree(call.cache, table.name, tableScope(table), table, url.searchParams.get('select'), new AliasCounter());
  applyQueryParams(root, url.searchParams);
  const returnPref = prefs.return ?? 'minimal';
  const mutation: Mutation = {
    kind: method === 'POST' ? 'insert' : method === 'PATCH' ? 'update' : 'delete',
    table,
    root,
    representation: returnPref === 'representation',
    locationKeys: method === 'POST' && returnPref === 'headers-only' ? table.primaryKey : undefined,
    media: call.media,
    count: prefs.count,
  };
  const params = new Params();
  let sql: string;
  if (mutation.kind === 'insert') {
    const { value } = await readJsonBody(call.req);
    const rows = Array.isArray(value) ? value : [value];
    if (value === undefined || !rows.every(isPlainObject)) throw invalidBody();
    const objects = rows as Record<string, unknown>[];
    const columnsParam = url.searchParams.get('columns');
    let columns: string[];
    if (columnsParam !== null) {
      columns = parseColumnList(columnsParam);
    } else {
      columns = Object.keys(objects[0] ?? {});
      const signature = [...columns].sort().join('\0');
      if (objects.some((o) => Object.keys(o).sort().join('\0') !== signature)) throw invalidBody('All object keys must match');
    }
    for (const column of columns) if (!table.columns.has(column)) throw columnNotFound(table.name, column);
    const payload: InsertPayload = { rows: objects, columns, missingDefault: prefs.missing === 'default' };
    if (prefs.resolution) {
      const conflictParam = url.searchParams.get('on_conflict');
      const target = conflictParam !== null ? parseColumnList(conflictParam) : table.primaryKey;
      for (const column of target) if (!table.columns.has(column)) throw columnNotFound(table.name, column);
      payload.onConflict = { columns: target, action: prefs.resolution === 'ignore-duplicates' ? 'ignore' : 'merge' };
    }
    if (objects.length === 0) return mutationResponse(call, mutation, ['0', '0', '[]', null, null] as MainRow);
    sql = insertSql(mutation, payload, params);
  } else if (mutation.kind === 'update') {
    const { value } = await readJsonBody(call.req);
    if (!isPlainObject(value)) throw invalidBody();
    for (const column of Object.keys(value)) if (!table.columns.has(column)) throw columnNotFound(table.name, column);
    // An empty patch changes nothing; PostgREST answers as if no row matched.
    if (Object.keys(value).length === 0) return mutationResponse(call, mutation, [null, '0', '[]', null, null] as MainRow);
    sql = updateSql(mutation, value, params);
  } else {
    sql = deleteSql(mutation, params);
  }
  const statements = [setup(call, false), mutationStatement(mutation, sql, params)];
  const mustDecide = call.media.shape === 'object' || prefs.tx === 'rollback';
  if (!mustDecide) {
    const results = await runPipelined(ctx.apiPool, statements);
    return mutationResponse(call, mutation, results[1]![0] as MainRow);
  }
  return runDecided(ctx.apiPool, statements, (results) => {
    const row = results[1]![0] as MainRow;
    // single() on a write that touched other than one row: 406 and nothing changes.
    if (call.media.shape === 'object' && Number(row[1]) !== 1) throw singularityError(Number(row[1]));
    return { commit: prefs.tx !== 'rollback', result: mutationResponse(call, mutation, row) };
  });
}

function mutationResponse(call: Call, m: Mutation, row: MainRow): RestResponse {
  const affected = Number(row[1]);
  const counted = call.prefs.count !== undefined;
  const headers: Record<string, string> = {};
  if (m.kind === 'insert') headers['content-range'] = `*/${counted ? affected : '*'}`;
  else headers['content-range'] = `${affected > 0 ? `0-${affected - 1}` : '*'}/${counted ? affected : '*'}`;
  const applied = call.prefs.applied.filter((p) => !p.startsWith('tx='));
  if (applied.length) headers['preference-applied'] = applied.join(', ');
  const status = m.kind === 'insert' ? 201 : m.representation ? 200 : 204;
  let body: string | undefined;
  if (m.representation) {
    body = row[2] ?? (call.media.shape === 'object' ? 'null' : '[]');
    headers['content-type'] = contentType(call.media);
  }
  if (m.locationKeys?.length && row[2]) {
    const keys = JSON.parse(row[2]) as Record<string, unknown>;
    const query = m.locationKeys.map((k) => `${encodeURIComponent(k)}=eq.${encodeURIComponent(String(keys[k]))}`).join('&');
    headers.location = `/${encodeURIComponent(m.table.name)}?${query}`;
  }
  return withGucs({ status, body, headers }, row);
}

/** Overload resolution by argument names, as PostgREST: every required parameter given, nothing unknown. */
function resolveRoutine(call: Call, name: string, keys: string[], isPost: boolean): Routine {
  const candidates = call.cache.routines.get(name) ?? [];
  const fits = candidates.filter(
    (r) => !r.takesBody && keys.every((k) => r.params.some((p) => p.name === k)) && r.params.every((p) => p.hasDefault || keys.includes(p.name)),
  );
  if (fits.length === 1) return fits[0]!;
  if (fits.length > 1) {
    const exact = fits.filter((r) => r.params.length === keys.length);
    if (exact.length === 1) return exact[0]!;
    throw new PostgrestError(
      300,
      'PGRST203',
      `Could not choose the best candidate function between: ${fits.map((r) => `public.${r.name}(${r.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`).join(', ')}`,
      null,
      'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
    );
  }
  const bodyTaker = isPost ? candidates.find((r) => r.takesBody) : undefined;
  if (bodyTaker) return bodyTaker;
  const list = keys.join(', ');
  throw new PostgrestError(
    404,
    'PGRST202',
    `Could not find the function public.${name}${keys.length ? `(${list})` : ' without parameters'} in the schema cache`,
    `Searched for the function public.${name}${keys.length ? ` with parameter${keys.length > 1 ? 's' : ''} ${list}` : ' without parameters'}${isPost ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`,
  );
}

async function callRoutine(ctx: GatewayContext, call: Call, name: string): Promise<RestResponse> {
  const { method, url } = call;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    throw new PostgrestError(405, 'PGRST101', `Cannot use the ${method} method on RPC`);
  }
  const isPost = method === 'POST';
  let args: Record<string, unknown> = {};
  let raw: string | undefined;
  let argKeys: Set<string>;
  if (isPost) {
    const body = await readJsonBody(call.req);
    raw = body.raw;
    if (body.value !== undefined && !isPlainObject(body.value)) {
      const taker = (call.cache.routines.get(name) ?? []).find((r) => r.takesBody);
      if (!taker) throw invalidBody();
    } else {
      args = (body.value as Record<string, unknown> | undefined) ?? {};
    }
    argKeys = new Set(Object.keys(args));
  } else {
    const paramNames = new Set((call.cache.routines.get(name) ?? []).flatMap((r) => r.params.map((p) => p.name)));
    argKeys = new Set([...url.searchParams.keys()].filter((k) => paramNames.has(k)));
    for (const key of argKeys) {
      const values = url.searchParams.getAll(key);
      args[key] = values.length > 1 ? values : values[0];
    }
  }
  const routine = resolveRoutine(call, name, [...argKeys], isPost);
  const source = routineSource(routine, routine.takesBody ? undefined : args, raw);
  const readOnly = !isPost;

  if (routine.returnKind === 'void') {
    const main: Statement = { text: `select null, '1', null, nullif(current_setting('response.headers', true), ''), nullif(current_setting('response.status', true), '') from (${source.sql}) as _postgrest_t`, values: source.params.values };
    const results = await runPipelined(ctx.apiPool, [setup(call, readOnly), main]);
    return withGucs({ status: 204, headers: {} }, results[1]![0] as MainRow);
  }

  const scope = routine.returnKind === 'composite'
    ? { relation: routine.name, has: (c: string) => routine.returnColumns.includes(c) }
    : { relation: routine.name, has: () => false };
  const root = buildReadTree(call.cache, routine.name, scope, undefined, url.searchParams.get('select'), new AliasCounter());
  applyQueryParams(root, url.searchParams, (key) => argKeys.has(key) && !isPost);
  const head = method === 'HEAD';
  // A function returning one value (or one row) answers that value, not an array of it.
  const media: AcceptedMedia = routine.returnsSet ? call.media : { ...call.media, shape: 'object' };
  const { main, explain } = readStatement(root, media, head, call.prefs.count, source);
  const statements = [setup(call, readOnly), ...(explain ? [explain] : []), main];
  const respond = (results: StatementRows[]) => {
    const row = results[results.length - 1]![0] as MainRow;
    const planned = explain ? countFromPlan(results[1]) : undefined;
    const response = readResponse({ ...call, media }, root, row, planned, head);
    if (!routine.returnsSet) {
      delete response.headers['content-range'];
      response.headers['content-type'] = contentType(call.media);
    }
    return response;
  };
  if ((isPost && call.media.shape === 'object') || call.prefs.tx === 'rollback') {
    return runDecided(ctx.apiPool, statements, (results) => ({ commit: call.prefs.tx !== 'rollback', result: respond(results) }));
  }
  return respond(await runPipelined(ctx.apiPool, statements));
}

export async function writeResponse(res: ServerResponse, response: RestResponse): Promise<void> {
  const headers: Record<string, string | number> = { ...response.headers };
  if (response.body !== undefined && response.status !== 204) {
    headers['content-length'] = Buffer.byteLength(response.body);
    res.writeHead(response.status, headers);
    res.end(response.body);
  } else {
    if (response.status === 204) delete headers['content-type'];
    else headers['content-length'] = 0;
    res.writeHead(response.status, headers);
    res.end();
  }
}
