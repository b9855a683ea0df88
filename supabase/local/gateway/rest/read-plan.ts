import { PostgrestError } from './errors.ts';
import {
  parseLogicTree,
  parseFilter,
  parseNonNegative,
  parseOrder,
  parseSelect,
  type Condition,
  type OrderTerm,
  type SelectItem,
} from './query-grammar.ts';
import type { ForeignKey, SchemaCache, Table } from './schema-cache.ts';
import {
  AliasCounter,
  checkColumn,
  fieldName,
  type ColumnScope,
  Params,
  quoteIdent,
  renderCondition,
  renderField,
  renderOrder,
} from './sql-fragments.ts';

/**
 * A read request as a tree: the relation at the top (a table, a view or a function's
 * result) and one node per embedded resource, each with its own select list, filters,
 * order and limit. Rendered as PostgREST does: every embed is a lateral subquery, to-one
 * embeds become `row_to_json`, to-many embeds `json_agg`.
 */
export interface ReadNode {
  relation: string;
  scope: ColumnScope;
  alias: string;
  select: SelectItem[];
  conditions: Condition[];
  order: OrderTerm[];
  limit?: number;
  offset?: number;
  embeds: EmbedNode[];
}

interface EmbedNode {
  node: ReadNode;
  outputName: string;
  toMany: boolean;
  inner: boolean;
  /** Pairs of (parent column, child column) the lateral subquery joins on. */
  on: [string, string][];
  joinAlias: string;
}

export function tableScope(table: Table): ColumnScope {
  return { relation: table.name, has: (column) => table.columns.has(column) };
}

/** Query parameters that are not filters at any level of the tree. */
const RESERVED_TOP = new Set(['select', 'columns', 'on_conflict', 'apikey']);

export function buildReadTree(
  cache: SchemaCache,
  relation: string,
  scope: ColumnScope,
  table: Table | undefined,
  selectText: string | null,
  aliases: AliasCounter,
): ReadNode {
  const select = parseSelect(selectText === null || selectText === '' ? '*' : selectText);
  return buildNode(cache, relation, scope, table, select, aliases);
}

function buildNode(
  cache: SchemaCache,
  relation: string,
  scope: ColumnScope,
  table: Table | undefined,
  select: SelectItem[],
  aliases: AliasCounter,
): ReadNode {
  const node: ReadNode = { relation, scope, alias: aliases.next(), select, conditions: [], order: [], embeds: [] };
  for (const item of select) {
    if (item.kind === 'field') checkColumn(scope, item.field.column);
    if (item.kind !== 'embed') continue;
    if (!table) {
      throw new PostgrestError(
        400,
        'PGRST200',
        `Could not find a relationship between '${relation}' and '${item.name}' in the schema cache`,
      );
    }
    const { foreignKey, toParent, target } = resolveRelationship(cache, table, item.name, item.hint);
    const child = buildNode(cache, target.name, tableScope(target), target, item.items, aliases);
    const on: [string, string][] = toParent
      ? foreignKey.columns.map((c, i) => [c, foreignKey.foreignColumns[i]!])
      : foreignKey.foreignColumns.map((c, i) => [c, foreignKey.columns[i]!]);
    // Embedding the referencing side is to-many unless its key columns are unique (one-to-one).
    const childKey = on.map(([, c]) => c).sort().join(',');
    const toMany = !toParent && !target.uniqueKeys.some((k) => [...k].sort().join(',') === childKey);
    node.embeds.push({
      node: child,
      outputName: item.alias ?? item.name,
      toMany,
      inner: item.joinType === 'inner',
      on,
      joinAlias: aliases.next(),
    });
  }
  return node;
}

/**
 * Which foreign key `name` means from `table`: a table it references (many-to-one), a table
 * referencing it (one-to-many), or one of its own foreign-key columns. A hint (`!fk_name` or
 * `!column`) picks among several; more than one left is PostgREST's 300 PGRST201.
 */
function resolveRelationship(cache: SchemaCache, table: Table, name: string, hint: string | undefined) {
  type Candidate = { foreignKey: ForeignKey; toParent: boolean; target: Table };
  const candidates: Candidate[] = [];
  for (const fk of cache.foreignKeys) {
    if (fk.table === table.name && (fk.foreignTable === name || (fk.columns.length === 1 && fk.columns[0] === name))) {
      candidates.push({ foreignKey: fk, toParent: true, target: cache.tables.get(fk.foreignTable)! });
    }
    if (fk.foreignTable === table.name && fk.table === name && !(fk.table === table.name && candidates.some((c) => c.foreignKey === fk))) {
      candidates.push({ foreignKey: fk, toParent: false, target: cache.tables.get(fk.table)! });
    }
  }
  const matching = hint === undefined ? candidates : candidates.filter((c) => c.foreignKey.constraint === hint || c.foreignKey.columns.includes(hint));
  if (matching.length === 0) {
    throw new PostgrestError(
      400,
      'PGRST200',
      `Could not find a relationship between '${table.name}' and '${name}' in the schema cache`,
      `Searched for a foreign key relationship between '${table.name}' and '${name}'${hint ? ` using the hint '${hint}'` : ''} in the schema '${'public'}', but no matches were found.`,
    );
  }
  if (matching.length > 1) {
    throw new PostgrestError(
      300,
      'PGRST201',
      `Could not embed because more than one relationship was found for '${table.name}' and '${name}'`,
      matching.map((c) => `${c.foreignKey.constraint} (${c.toParent ? 'many-to-one' : 'one-to-many'})`).join(', '),
      `Try changing '${name}' to one of the following: ${matching.map((c) => `'${name}!${c.foreignKey.constraint}'`).join(', ')}.`,
    );
  }
  return matching[0]!;
}

/** The node an embed path (`tags`, `tags.owner`) names, or PGRST108. */
function nodeAt(root: ReadNode, path: string[]): ReadNode {
  let node = root;
  for (const name of path) {
    const embed = node.embeds.find((e) => e.outputName === name);
    if (!embed) {
      throw new PostgrestError(
        400,
        'PGRST108',
        `'${name}' is not an embedded resource in this request`,
        null,
        `Verify that '${name}' is included in the 'select' query parameter.`,
      );
    }
    node = embed.node;
  }
  return node;
}

/**
 * Distributes the query string over the tree: `order`, `limit`, `offset`, `or`, `and`
 * (each optionally prefixed by an embed path) and every other key as a filter. `skip`
 * names keys that mean something else (function arguments on GET /rpc).
 */
export function applyQueryParams(root: ReadNode, params: URLSearchParams, skip: (key: string) => boolean = () => false) {
  for (const [key, value] of params) {
    if (RESERVED_TOP.has(key) || skip(key)) continue;
    const parts = key.split('.');
    let last = parts[parts.length - 1]!;
    let negate = false;
    if (parts.length >= 2 && parts[parts.length - 2] === 'not' && (last === 'or' || last === 'and')) {
      negate = true;
    }
    if (['order', 'limit', 'offset', 'or', 'and'].includes(last)) {
      const node = nodeAt(root, parts.slice(0, negate ? -2 : -1));
      if (last === 'order') node.order.push(...parseOrder(value));
      else if (last === 'limit') node.limit = parseNonNegative('limit parameter', value);
      else if (last === 'offset') node.offset = parseNonNegative('offset parameter', value);
      else node.conditions.push(parseLogicTree(last as 'or' | 'and', negate, value));
      continue;
    }
    // A filter: `col=op.value`, or `embed.col=op.value` on an embedded resource. JSON
    // arrows may contain no dots, so the field is what follows the last embed name.
    const fieldStart = parts.findIndex((p) => p.includes('->'));
    const path = fieldStart === -1 ? parts.slice(0, -1) : parts.slice(0, fieldStart);
    const fieldKey = fieldStart === -1 ? last : parts.slice(fieldStart).join('.');
    last = fieldKey;
    const node = nodeAt(root, path);
    node.conditions.push(parseFilter(fieldKey, value));
  }
}

export interface RenderOptions {
  /** FROM source for the top node; defaults to the table itself. */
  source?: string;
  /** Leave out limit/offset/order (for counting) and every embed that does not filter. */
  forCount?: boolean;
}

/** The select list and FROM/WHERE/ORDER/LIMIT of one node, embeds included. */
export function renderNode(node: ReadNode, params: Params, options: RenderOptions = {}, joinCondition?: string): string {
  const alias = quoteIdent(node.alias);
  const fields: string[] = [];
  const joins: string[] = [];
  const where: string[] = [];
  if (joinCondition) where.push(joinCondition);

  if (!options.forCount) {
    for (const item of node.select) {
      if (item.kind === 'star') fields.push(`${alias}.*`);
      else if (item.kind === 'field') {
        const expr = renderField(node.alias, item.field, node.scope, params);
        const typed = item.cast ? `(${expr})::${item.cast.toLowerCase()}` : expr;
        fields.push(`${typed} as ${quoteIdent(fieldName(item.field, item.alias))}`);
      }
    }
  }
  for (const embed of node.embeds) {
    if (options.forCount && !embed.inner) continue;
    const childAlias = quoteIdent(embed.node.alias);
    const on = embed.on.map(([parent, child]) => `${childAlias}.${quoteIdent(child)} = ${alias}.${quoteIdent(parent)}`).join(' and ');
    const joinAlias = quoteIdent(embed.joinAlias);
    const rowsAlias = quoteIdent(`${embed.joinAlias}_rows`);
    const childSql = renderNode(embed.node, params, {}, on);
    const join = embed.inner ? 'inner join lateral' : 'left join lateral';
    if (embed.toMany) {
      joins.push(
        `${join} (select json_agg(${rowsAlias}) as pgrst_agg from (${childSql}) as ${rowsAlias}) as ${joinAlias} on ${embed.inner ? `${joinAlias}.pgrst_agg is not null` : 'true'}`,
      );
      if (!options.forCount) fields.push(`coalesce(${joinAlias}.pgrst_agg, '[]') as ${quoteIdent(embed.outputName)}`);
    } else {
      joins.push(`${join} (${childSql}) as ${joinAlias} on true`);
      if (!options.forCount) fields.push(`row_to_json(${joinAlias}.*) as ${quoteIdent(embed.outputName)}`);
    }
  }
  for (const condition of node.conditions) where.push(renderCondition(node.alias, condition, node.scope, params));

  const source = options.source ?? `public.${quoteIdent(node.relation)}`;
  let sql = `select ${options.forCount ? '1' : fields.join(', ')} from ${source} as ${alias}`;
  if (joins.length) sql += ` ${joins.join(' ')}`;
  if (where.length) sql += ` where ${where.join(' and ')}`;
  if (!options.forCount) {
    if (node.order.length) sql += ` order by ${renderOrder(node.alias, node.order, node.scope, params)}`;
    if (node.limit !== undefined) sql += ` limit ${params.add(String(node.limit))}::bigint`;
    if (node.offset !== undefined) sql += ` offset ${params.add(String(node.offset))}::bigint`;
  }
  return sql;
}

/** `Range: 0-9` (items), PostgREST's alternative to limit/offset; intersected with them. */
export function applyRangeHeader(root: ReadNode, header: string | undefined): void {
  if (!header) return;
  const match = /^\s*(?:items=)?(\d+)-(\d*)\s*$/.exec(header);
  if (!match) return;
  const lower = Number(match[1]);
  const upper = match[2] === '' ? undefined : Number(match[2]);
  if (upper !== undefined && upper < lower) {
    throw new PostgrestError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      'The lower boundary must be lower than or equal to the upper boundary in the Range header.',
    );
  }
  const offset = Math.max(lower, root.offset ?? 0);
  root.offset = offset;
  if (upper !== undefined) {
    const rangeLimit = upper - offset + 1;
    root.limit = root.limit === undefined ? rangeLimit : Math.min(root.limit, rangeLimit);
  }
}
