import type { IncomingMessage } from 'node:http';
import type { Statement } from './pipeline.ts';
import type { AcceptedMedia } from './preferences.ts';
import { renderNode, type ReadNode } from './read-plan.ts';
import type { RequestIdentity } from './request-auth.ts';
import type { Column, Routine, SchemaCache, Table } from './schema-cache.ts';
import { Params, quoteIdent, renderCondition } from './sql-fragments.ts';

/**
 * The SQL PostgREST would run for each kind of request. Every main statement answers one
 * row: (total count, page count, JSON body, response.headers GUC, response.status GUC), the
 * body built by Postgres (`json_agg` over the result) so values are Postgres's own JSON.
 */
export const RESULT_COLUMNS = `nullif(current_setting('response.headers', true), '') as response_headers,
  nullif(current_setting('response.status', true), '') as response_status`;

/** The per-request transaction setup: role, claims and request GUCs in one statement. */
export function setupStatement(
  identity: RequestIdentity,
  req: IncomingMessage,
  path: string,
  cache: SchemaCache,
  readOnly: boolean,
): Statement {
  const params = new Params();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const cookies: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const sets = [
    `set_config('search_path', ${params.add('public, extensions')}, true)`,
    `set_config('role', ${params.add(identity.role)}, true)`,
    `set_config('request.jwt.claims', ${params.add(JSON.stringify(identity.claims))}, true)`,
    `set_config('request.method', ${params.add(req.method ?? 'GET')}, true)`,
    `set_config('request.path', ${params.add(path)}, true)`,
    `set_config('request.headers', ${params.add(JSON.stringify(headers))}, true)`,
    `set_config('request.cookies', ${params.add(JSON.stringify(cookies))}, true)`,
  ];
  // The impersonated role's own settings (anon's 3 s statement_timeout), as PostgREST applies them.
  for (const [name, value] of cache.roleSettings.get(identity.role) ?? []) {
    sets.push(`set_config(${params.add(name)}, ${params.add(value)}, true)`);
  }
  if (readOnly) sets.push(`set_config('transaction_read_only', 'on', true)`);
  return { text: `select ${sets.join(', ')}`, values: params.values };
}

function bodyExpression(media: AcceptedMedia, head: boolean, scalar: boolean): string {
  if (head) return 'null';
  const agg = scalar ? 'json_agg(_postgrest_t.pgrst_scalar)' : 'json_agg(_postgrest_t)';
  if (media.shape === 'object') {
    return media.stripNulls ? `coalesce(json_strip_nulls(${agg}->0)::text, 'null')` : `coalesce((${agg}->0)::text, 'null')`;
  }
  return media.stripNulls ? `coalesce(json_strip_nulls(${agg}), '[]')::text` : `coalesce(${agg}, '[]')::text`;
}

export type CountMode = 'exact' | 'planned' | 'estimated' | undefined;

export interface ReadStatements {
  main: Statement;
  /** EXPLAIN for `count=planned`, run before the main statement in the same round trip. */
  explain?: Statement;
}

/** A read of a table, a view or a function's result (`source`). */
export function readStatement(
  root: ReadNode,
  media: AcceptedMedia,
  head: boolean,
  count: CountMode,
  source?: { sql: string; params: Params; scalar: boolean; argCount: number },
): ReadStatements {
  const params = source?.params ?? new Params();
  const from = source ? `(${source.sql})` : undefined;
  const inner = renderNode(root, params, { source: from });
  let total = 'null';
  if (count === 'exact' || count === 'estimated') {
    total = `(select count(*) from (${renderNode(root, params, { source: from, forCount: true })}) as _postgrest_c)::text`;
  }
  const main: Statement = {
    text: `select ${total} as total, count(_postgrest_t)::text as page_total, ${bodyExpression(media, head, source?.scalar ?? false)} as body, ${RESULT_COLUMNS}
  from (${inner}) as _postgrest_t`,
    values: params.values,
  };
  if (count !== 'planned') return { main };
  // The plan's row estimate, as PostgREST's planned count; needs parameters of its own.
  const explainParams = new Params();
  if (source) explainParams.values.push(...source.params.values.slice(0, source.argCount));
  const countSql = renderNode(root, explainParams, { source: from, forCount: true });
  return { main, explain: { text: `explain (format json) ${countSql}`, values: explainParams.values } };
}

export interface Mutation {
  kind: 'insert' | 'update' | 'delete';
  table: Table;
  root: ReadNode;
  /** Representation requested: the node's select list is returned. */
  representation: boolean;
  /** headers-only: the primary key of the first row, for Location. */
  locationKeys?: string[];
  media: AcceptedMedia;
  count: CountMode;
}

export interface InsertPayload {
  rows: Record<string, unknown>[];
  columns: string[];
  missingDefault: boolean;
  onConflict?: { columns: string[]; action: 'merge' | 'ignore' };
}

function tableName(table: Table): string {
  return `public.${quoteIdent(table.name)}`;
}

function returning(m: Mutation, alias?: string): string {
  if (m.representation) return alias ? `returning ${quoteIdent(alias)}.*` : 'returning *';
  if (m.locationKeys?.length) return `returning ${m.locationKeys.map(quoteIdent).join(', ')}`;
  // Counting needs a row per change, but a column reference would demand SELECT rights
  // (and SELECT policies) that a plain insert does not need.
  return 'returning 1';
}

function defaultOf(column: Column): string {
  return column.defaultExpr ?? 'null';
}

export function insertSql(m: Mutation, payload: InsertPayload, params: Params): string {
  const { table } = m;
  const cols = payload.columns;
  let sql: string;
  if (cols.length === 0) {
    sql = `insert into ${tableName(table)} default values`;
  } else {
    const body = params.add(JSON.stringify(payload.rows));
    const everyRowHasEvery = payload.rows.every((row) => cols.every((c) => Object.hasOwn(row, c)));
    if (payload.missingDefault && !everyRowHasEvery) {
      // `missing=default`: a key absent from a row takes the column default, not null.
      const exprs = cols.map((c) => {
        const column = table.columns.get(c)!;
        return `case when pgrst_row.j ? ${params.add(c)} then (pgrst_row.r).${quoteIdent(c)} else ${defaultOf(column)} end`;
      });
      sql = `insert into ${tableName(table)} (${cols.map(quoteIdent).join(', ')})
  select ${exprs.join(', ')} from (select j, jsonb_populate_record(null::${tableName(table)}, j) as r
    from jsonb_array_elements(${body}::jsonb) as j) as pgrst_row`;
    } else {
      sql = `insert into ${tableName(table)} (${cols.map(quoteIdent).join(', ')})
  select ${cols.map((c) => `pgrst_body.${quoteIdent(c)}`).join(', ')} from json_populate_recordset(null::${tableName(table)}, ${body}::json) as pgrst_body`;
    }
  }
  if (payload.onConflict) {
    const target = payload.onConflict.columns.length ? ` (${payload.onConflict.columns.map(quoteIdent).join(', ')})` : '';
    const updates = cols.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`);
    sql +=
      payload.onConflict.action === 'ignore' || updates.length === 0
        ? ` on conflict${target} do nothing`
        : ` on conflict${target} do update set ${updates.join(', ')}`;
  }
  return `${sql} ${returning(m)}`;
}

export function updateSql(m: Mutation, values: Record<string, unknown>, params: Params): string {
  const alias = m.root.alias;
  const cols = Object.keys(values);
  const body = params.add(JSON.stringify(values));
  const where = m.root.conditions.map((c) => renderCondition(alias, c, m.root.scope, params));
  return `update ${tableName(m.table)} as ${quoteIdent(alias)} set ${cols.map((c) => `${quoteIdent(c)} = pgrst_body.${quoteIdent(c)}`).join(', ')}
  from (select * from json_populate_record(null::${tableName(m.table)}, ${body}::json)) as pgrst_body
  ${where.length ? `where ${where.join(' and ')}` : ''} ${returning(m, alias)}`;
}

export function deleteSql(m: Mutation, params: Params): string {
  const alias = m.root.alias;
  const where = m.root.conditions.map((c) => renderCondition(alias, c, m.root.scope, params));
  return `delete from ${tableName(m.table)} as ${quoteIdent(alias)} ${where.length ? `where ${where.join(' and ')}` : ''} ${returning(m, alias)}`;
}

/** Wraps a data-modifying statement: count what it changed and, if asked, render the rows. */
export function mutationStatement(m: Mutation, mutationSql: string, params: Params): Statement {
  let text: string;
  if (m.representation) {
    // Filters already ran in the mutation; the representation only selects, embeds and orders.
    const root = { ...m.root, conditions: [] };
    const inner = renderNode(root, params, { source: 'pgrst_source' });
    text = `with pgrst_source as (${mutationSql})
select null as total, count(_postgrest_t)::text as page_total, ${bodyExpression(m.media, false, false)} as body, ${RESULT_COLUMNS}
  from (${inner}) as _postgrest_t`;
  } else if (m.locationKeys?.length) {
    text = `with pgrst_source as (${mutationSql})
select null as total, count(*)::text as page_total, (json_agg(pgrst_source)->0)::text as body, ${RESULT_COLUMNS} from pgrst_source`;
  } else {
    text = `with pgrst_source as (${mutationSql})
select null as total, count(*)::text as page_total, null as body, ${RESULT_COLUMNS} from pgrst_source`;
  }
  return { text, values: params.values };
}

/**
 * A function call as a FROM source: arguments come from the JSON body through
 * json_to_record, which converts each JSON value to the parameter's declared type exactly
 * as PostgREST does (numbers, arrays, objects for json parameters).
 */
export function routineSource(
  routine: Routine,
  args: Record<string, unknown> | undefined,
  rawBody: string | undefined,
): { sql: string; params: Params; scalar: boolean; argCount: number } {
  const params = new Params();
  const fn = `public.${quoteIdent(routine.name)}`;
  const scalar = routine.returnKind !== 'composite';
  const columnAlias = scalar ? ' as pgrst_call(pgrst_scalar)' : ' as pgrst_call';
  let sql: string;
  if (routine.takesBody) {
    const type = routine.params[0]!.type === 'jsonb' ? 'jsonb' : 'json';
    sql = `select pgrst_call.* from ${fn}(${params.add(rawBody ?? '{}')}::${type})${columnAlias}`;
  } else {
    const names = Object.keys(args ?? {});
    if (names.length === 0) {
      sql = `select pgrst_call.* from ${fn}()${columnAlias}`;
    } else {
      const types = new Map(routine.params.map((p) => [p.name, p.type]));
      const record = names.map((n) => `${quoteIdent(n)} ${types.get(n)}`).join(', ');
      const call = names.map((n) => `${quoteIdent(n)} := pgrst_args.${quoteIdent(n)}`).join(', ');
      sql = `select pgrst_call.* from json_to_record(${params.add(JSON.stringify(args))}::json) as pgrst_args(${record}),
        lateral ${fn}(${call})${columnAlias}`;
    }
  }
  return { sql, params, scalar, argCount: params.values.length };
}

