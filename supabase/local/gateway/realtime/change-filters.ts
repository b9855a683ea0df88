import { scalarToJson, type JsonValue } from './column-values.ts';

/**
 * The `filter` of a postgres_changes binding, as Supabase Realtime parses it:
 * `column=op.value`, operators eq, neq, lt, lte, gt, gte, in (`in.(a,b,"c,d")`), an optional
 * `not.` prefix, several filters joined by commas meaning AND. Values compare as the column's
 * type (numbers as numbers, timestamps as instants, booleans as booleans); text compares by
 * code point, where Postgres would use the column's collation (differs only for lt/gt on
 * non-ASCII text).
 */
export type FilterOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'in';
const OPS = new Set<FilterOp>(['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in']);

export interface ColumnFilter {
  column: string;
  op: FilterOp;
  /** One value, or the list for `in`. */
  values: string[];
  negate: boolean;
}

export class FilterParseError extends Error {}

/** Splits on commas outside parentheses and double quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

export function parseFilters(filter: string | undefined | null): ColumnFilter[] {
  if (filter === undefined || filter === null || filter.trim() === '') return [];
  return splitTopLevel(filter).map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FilterParseError(`Error parsing \`filter\` params: ${JSON.stringify([part])}`);
    const column = part.slice(0, eq).trim();
    let rest = part.slice(eq + 1);
    let negate = false;
    if (rest.startsWith('not.')) {
      negate = true;
      rest = rest.slice(4);
    }
    const dot = rest.indexOf('.');
    const op = (dot > 0 ? rest.slice(0, dot) : rest) as FilterOp;
    const raw = dot > 0 ? rest.slice(dot + 1) : '';
    if (!OPS.has(op) || dot < 0) {
      throw new FilterParseError(`Error parsing \`filter\` params: ${JSON.stringify(dot > 0 ? [op, raw] : [rest])}`);
    }
    if (op === 'in') {
      const m = /^\((.*)\)$/s.exec(raw.trim());
      if (!m) throw new FilterParseError(`Error parsing \`filter\` params: ${JSON.stringify([op, raw])}`);
      return { column, op, values: m[1]!.trim() === '' ? [] : splitTopLevel(m[1]!).map(unquote), negate };
    }
    return { column, op, values: [unquote(raw)], negate };
  });
}

function compare(a: JsonValue, b: JsonValue, typeName: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeName === 'timestamptz' || typeName === 'timestamp' || typeName === 'date') {
    const ta = Date.parse(String(a));
    const tb = Date.parse(String(b));
    if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  if (typeName === 'uuid') return String(a).toLowerCase() < String(b).toLowerCase() ? -1 : String(a).toLowerCase() > String(b).toLowerCase() ? 1 : 0;
  if (typeof a === 'object' || typeof b === 'object') {
    const sa = JSON.stringify(a);
    const sb = JSON.stringify(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Whether a row (JSON values by column name, with each column's type name) passes every filter.
 * A filtered column absent from the row (a DELETE without REPLICA IDENTITY FULL only carries the
 * key) or null never matches, as in SQL.
 */
export function rowMatches(filters: ColumnFilter[], row: Record<string, JsonValue>, types: Record<string, string>): boolean {
  for (const f of filters) {
    if (!(f.column in row)) return false;
    const value = row[f.column]!;
    if (value === null) return false;
    const type = types[f.column] ?? 'text';
    const typed = (v: string) => scalarToJson(type, v);
    let result: boolean;
    switch (f.op) {
      case 'eq':
        result = compare(value, typed(f.values[0]!), type) === 0;
        break;
      case 'neq':
        result = compare(value, typed(f.values[0]!), type) !== 0;
        break;
      case 'lt':
        result = compare(value, typed(f.values[0]!), type) < 0;
        break;
      case 'lte':
        result = compare(value, typed(f.values[0]!), type) <= 0;
        break;
      case 'gt':
        result = compare(value, typed(f.values[0]!), type) > 0;
        break;
      case 'gte':
        result = compare(value, typed(f.values[0]!), type) >= 0;
        break;
      case 'in':
        result = f.values.some((v) => compare(value, typed(v), type) === 0);
        break;
    }
    if (result === f.negate) return false;
  }
  return true;
}
