import type { Condition, FieldRef, OrderTerm } from './query-grammar.ts';
import { queryParamError, undefinedColumn } from './errors.ts';

/**
 * The only places request text meets SQL. Identifiers are double-quoted with embedded quotes
 * doubled (and were checked against the schema cache before they got here); every value is
 * a bind parameter `$n`. SQL aliases are generated (`pgrst_1`), never taken from the request.
 */
export function quoteIdent(name: string): string {
  // Postgres identifiers cannot hold NUL; only an alias can get here with one.
  if (name.includes('\0')) throw queryParamError('select parameter', name.replace(/\0/g, '\\0'), 'identifiers cannot contain NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Collects bind values and hands out their placeholders. */
export class Params {
  readonly values: (string | null)[] = [];
  add(value: string | null): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export class AliasCounter {
  private n = 0;
  next(): string {
    return `pgrst_${++this.n}`;
  }
}

/** What a filter or order term may name: the columns of the relation (or function result). */
export interface ColumnScope {
  /** Name used in error messages, e.g. the table name. */
  relation: string;
  has(column: string): boolean;
}

export function checkColumn(scope: ColumnScope, column: string): void {
  if (!scope.has(column)) throw undefinedColumn(scope.relation, column);
}

/**
 * `alias.col`, with JSON steps as `->`/`->>` whose keys are parameters: digits index arrays
 * (as PostgREST reads `->0`), anything else is an object key.
 */
export function renderField(alias: string, field: FieldRef, scope: ColumnScope, params: Params): string {
  checkColumn(scope, field.column);
  let sql = `${quoteIdent(alias)}.${quoteIdent(field.column)}`;
  for (const step of field.json) {
    const isIndex = /^-?\d+$/.test(step.key);
    sql = `(${sql}${step.arrow}${params.add(step.key)}::${isIndex ? 'int' : 'text'})`;
  }
  return sql;
}

/** The output name of a field: its alias, else the last JSON key, else the column. */
export function fieldName(field: FieldRef, alias?: string): string {
  if (alias) return alias;
  const last = field.json[field.json.length - 1];
  return last ? last.key : field.column;
}

const COMPARISON: Record<string, string> = {
  eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=',
  like: 'like', ilike: 'ilike', match: '~', imatch: '~*',
  cs: '@>', cd: '<@', ov: '&&', sl: '<<', sr: '>>', nxl: '&<', nxr: '&>', adj: '-|-',
  isdistinct: 'is distinct from',
};

const FTS_FUNCTION: Record<string, string> = {
  fts: 'to_tsquery', plfts: 'plainto_tsquery', phfts: 'phraseto_tsquery', wfts: 'websearch_to_tsquery',
};

/** `{"a","b\"c"}`: an array literal for `= any($n)`, every element quoted so commas stay data. */
function arrayLiteral(items: string[]): string {
  return `{${items.map((item) => `"${item.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

export function renderCondition(alias: string, condition: Condition, scope: ColumnScope, params: Params): string {
  if (condition.kind === 'logic') {
    const parts = condition.children.map((child) => renderCondition(alias, child, scope, params));
    const joined = `(${parts.join(condition.op === 'and' ? ' and ' : ' or ')})`;
    return condition.negate ? `not ${joined}` : joined;
  }
  const field = renderField(alias, condition.field, scope, params);
  let sql: string;
  switch (condition.op) {
    case 'in':
      sql = `${field} = any(${params.add(arrayLiteral(condition.list ?? []))})`;
      break;
    case 'is': {
      const value = condition.value.toLowerCase();
      sql = `${field} is ${value === 'not_null' ? 'not null' : value}`;
      break;
    }
    case 'like':
    case 'ilike':
      // PostgREST accepts `*` for `%` because `%` is awkward in URLs.
      sql = `${field} ${COMPARISON[condition.op]} ${params.add(condition.value.replace(/\*/g, '%'))}`;
      break;
    case 'fts':
    case 'plfts':
    case 'phfts':
    case 'wfts': {
      const fn = FTS_FUNCTION[condition.op];
      const query =
        condition.language !== undefined
          ? `${fn}(${params.add(condition.language)}::regconfig, ${params.add(condition.value)})`
          : `${fn}(${params.add(condition.value)})`;
      sql = `${field} @@ ${query}`;
      break;
    }
    default:
      sql = `${field} ${COMPARISON[condition.op]} ${params.add(condition.value)}`;
  }
  return condition.negate ? `not (${sql})` : sql;
}

export function renderOrder(alias: string, terms: OrderTerm[], scope: ColumnScope, params: Params): string {
  return terms
    .map((term) => {
      let sql = renderField(alias, term.field, scope, params);
      if (term.direction) sql += ` ${term.direction}`;
      if (term.nulls) sql += ` nulls ${term.nulls}`;
      return sql;
    })
    .join(', ');
}
