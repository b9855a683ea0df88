import { queryParamError } from './errors.ts';

/**
 * PostgREST's query-string grammar, parsed into plain trees: the select list, filters
 * (`col=op.value`), logic trees (`or=(a.eq.1,and(b.gt.2,c.is.null))`) and order terms.
 * Nothing here knows SQL; names are validated against the schema cache when the trees are
 * turned into statements, and values only ever become bind parameters.
 */

export interface JsonStep {
  arrow: '->' | '->>';
  key: string;
}

export interface FieldRef {
  column: string;
  json: JsonStep[];
}

export type SelectItem =
  | { kind: 'star' }
  | { kind: 'field'; field: FieldRef; cast?: string; alias?: string }
  | { kind: 'embed'; name: string; alias?: string; hint?: string; joinType?: 'inner' | 'left'; items: SelectItem[] };

export const FILTER_OPERATORS = [
  'eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'match', 'imatch', 'in', 'is', 'isdistinct',
  'cs', 'cd', 'ov', 'sl', 'sr', 'nxl', 'nxr', 'adj', 'fts', 'plfts', 'phfts', 'wfts',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export type Condition =
  | {
      kind: 'filter';
      field: FieldRef;
      negate: boolean;
      op: FilterOperator;
      /** The raw value; for `in` the list elements; for fts ops the optional language. */
      value: string;
      list?: string[];
      language?: string;
    }
  | { kind: 'logic'; op: 'and' | 'or'; negate: boolean; children: Condition[] };

export interface OrderTerm {
  field: FieldRef;
  direction?: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

/** A tiny cursor over one parameter value, raising PGRST100 with the position on failure. */
class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly what: string,
  ) {}
  get done() {
    return this.pos >= this.text.length;
  }
  peek(n = 1) {
    return this.text.slice(this.pos, this.pos + n);
  }
  startsWith(s: string) {
    return this.text.startsWith(s, this.pos);
  }
  eat(s: string): boolean {
    if (!this.startsWith(s)) return false;
    this.pos += s.length;
    return true;
  }
  expect(s: string) {
    if (!this.eat(s)) this.fail(`expecting "${s}"`);
  }
  fail(expecting: string): never {
    const found = this.done ? 'end of input' : `"${this.text[this.pos]}"`;
    throw queryParamError(this.what, this.text, `unexpected ${found} ${expecting} at column ${this.pos + 1}`);
  }
}

/** An identifier: `"quoted"` (backslash escapes) or a run of characters that are not syntax. */
function readName(c: Cursor, stops: string): string {
  if (c.eat('"')) {
    let out = '';
    while (!c.done && c.peek() !== '"') {
      if (c.peek() === '\\' && c.pos + 1 < c.text.length) c.pos++;
      out += c.text[c.pos++];
    }
    c.expect('"');
    if (out === '') c.fail('expecting an identifier');
    return out;
  }
  const start = c.pos;
  while (!c.done && !stops.includes(c.peek()) && !c.startsWith('->') && !c.startsWith('::')) c.pos++;
  const name = c.text.slice(start, c.pos);
  if (name === '') c.fail('expecting an identifier');
  return name;
}

function readField(c: Cursor, stops: string): FieldRef {
  const column = readName(c, stops);
  const json: JsonStep[] = [];
  while (c.startsWith('->')) {
    const arrow = c.eat('->>') ? '->>' : (c.eat('->'), '->');
    json.push({ arrow, key: readName(c, stops) });
  }
  return { column, json };
}

const SELECT_STOPS = ',:()!"';

export function parseSelect(text: string): SelectItem[] {
  const c = new Cursor(text, 'select parameter');
  const items = parseSelectList(c, 0);
  if (!c.done) c.fail('expecting "," or end of input');
  return items;
}

function parseSelectList(c: Cursor, depth: number): SelectItem[] {
  const items: SelectItem[] = [];
  if (depth > 0 && c.peek() === ')') return items;
  for (;;) {
    items.push(parseSelectItem(c, depth));
    if (!c.eat(',')) return items;
  }
}

function parseSelectItem(c: Cursor, depth: number): SelectItem {
  if (c.eat('*')) return { kind: 'star' };
  let alias: string | undefined;
  let first = readField(c, SELECT_STOPS);
  if (c.peek() === ':' && !c.startsWith('::')) {
    if (first.json.length) c.fail('expecting an alias without json operators');
    c.pos++;
    alias = first.column;
    first = readField(c, SELECT_STOPS);
  }
  if (c.peek() === '!' || c.peek() === '(') {
    if (first.json.length) c.fail('expecting "(" after a relation name');
    let hint: string | undefined;
    let joinType: 'inner' | 'left' | undefined;
    while (c.eat('!')) {
      const word = readName(c, SELECT_STOPS);
      if (word === 'inner' || word === 'left') joinType = word;
      else if (hint === undefined) hint = word;
      else c.fail('expecting only one hint');
    }
    c.expect('(');
    const items = parseSelectList(c, depth + 1);
    c.expect(')');
    return { kind: 'embed', name: first.column, alias, hint, joinType, items };
  }
  let cast: string | undefined;
  if (c.eat('::')) {
    const start = c.pos;
    while (!c.done && /[A-Za-z0-9_]/.test(c.peek())) c.pos++;
    cast = c.text.slice(start, c.pos);
    // A cast is one plain type word: it is placed in SQL unquoted, so nothing else may pass.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(cast)) c.fail('expecting a type name');
    if (c.eat('[]')) cast += '[]';
  }
  return { kind: 'field', field: first, cast, alias };
}

/** `op.value` or `not.op.value`, the right-hand side of `col=...`. */
export function parseFilter(key: string, text: string): Condition {
  const c = new Cursor(text, 'filter');
  const field = readField(new Cursor(key, 'filter'), '');
  return parseOperation(c, field, text, false);
}

function parseOperation(c: Cursor, field: FieldRef, whole: string, inTree: boolean): Condition {
  const negate = c.eat('not.');
  const start = c.pos;
  while (!c.done && /[a-z]/.test(c.peek())) c.pos++;
  const op = c.text.slice(start, c.pos) as FilterOperator;
  if (!FILTER_OPERATORS.includes(op)) {
    c.pos = start;
    c.fail(`expecting "not" or operator (${FILTER_OPERATORS.join(', ')})`);
  }
  let language: string | undefined;
  if (op.endsWith('fts') && c.eat('(')) {
    const langStart = c.pos;
    while (!c.done && c.peek() !== ')') c.pos++;
    language = c.text.slice(langStart, c.pos);
    c.expect(')');
  }
  c.expect('.');
  if (op === 'in') {
    const list = parseList(c);
    if (!inTree && !c.done) c.fail('expecting end of input');
    return { kind: 'filter', field, negate, op, value: '', list };
  }
  const value = inTree ? readTreeValue(c) : c.text.slice(c.pos);
  if (!inTree) c.pos = c.text.length;
  if (op === 'is' && !['null', 'not_null', 'true', 'false', 'unknown'].includes(value.toLowerCase())) {
    throw queryParamError('filter', whole, `unexpected "${value}" expecting null, not_null, true, false or unknown`);
  }
  return { kind: 'filter', field, negate, op, value, language };
}

/** `(a,b,"c,d")`: PostgREST's list for `in`; quoted elements keep commas and parentheses. */
function parseList(c: Cursor): string[] {
  c.expect('(');
  const items: string[] = [];
  if (c.eat(')')) return items;
  for (;;) {
    if (c.peek() === '"') {
      c.pos++;
      let out = '';
      while (!c.done && c.peek() !== '"') {
        if (c.peek() === '\\' && c.pos + 1 < c.text.length) c.pos++;
        out += c.text[c.pos++];
      }
      c.expect('"');
      items.push(out);
    } else {
      const start = c.pos;
      while (!c.done && c.peek() !== ',' && c.peek() !== ')') c.pos++;
      items.push(c.text.slice(start, c.pos));
    }
    if (c.eat(')')) return items;
    c.expect(',');
  }
}

/** A value inside a logic tree ends at a top-level `,` or `)`; quotes protect both. */
function readTreeValue(c: Cursor): string {
  if (c.peek() === '"') {
    c.pos++;
    let out = '';
    while (!c.done && c.peek() !== '"') {
      if (c.peek() === '\\' && c.pos + 1 < c.text.length) c.pos++;
      out += c.text[c.pos++];
    }
    c.expect('"');
    return out;
  }
  const start = c.pos;
  let depth = 0;
  while (!c.done) {
    const ch = c.peek();
    if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if ((ch === ')' || ch === '}' || ch === ']') && depth > 0) depth--;
    else if ((ch === ',' || ch === ')') && depth === 0) break;
    c.pos++;
  }
  return c.text.slice(start, c.pos);
}

/** `or=(...)`, `and=(...)`, `not.or=(...)`: the key gives the operator, the value the tree. */
export function parseLogicTree(op: 'and' | 'or', negate: boolean, text: string): Condition {
  const c = new Cursor(text, 'logic tree');
  const children = parseTreeChildren(c, text);
  if (!c.done) c.fail('expecting end of input');
  return { kind: 'logic', op, negate, children };
}

function parseTreeChildren(c: Cursor, whole: string): Condition[] {
  c.expect('(');
  const children: Condition[] = [];
  for (;;) {
    children.push(parseTreeItem(c, whole));
    if (c.eat(')')) return children;
    c.expect(',');
  }
}

function parseTreeItem(c: Cursor, whole: string): Condition {
  const save = c.pos;
  const negate = c.eat('not.');
  for (const op of ['and', 'or'] as const) {
    if (c.startsWith(`${op}(`)) {
      c.pos += op.length;
      return { kind: 'logic', op, negate, children: parseTreeChildren(c, whole) };
    }
  }
  c.pos = save;
  const field = readField(c, '.,()');
  c.expect('.');
  return parseOperation(c, field, whole, true);
}

export function parseOrder(text: string): OrderTerm[] {
  const c = new Cursor(text, 'order');
  const terms: OrderTerm[] = [];
  for (;;) {
    const field = readField(c, '.,()');
    const term: OrderTerm = { field };
    while (c.eat('.')) {
      if (c.eat('asc')) term.direction = 'asc';
      else if (c.eat('desc')) term.direction = 'desc';
      else if (c.eat('nullsfirst')) term.nulls = 'first';
      else if (c.eat('nullslast')) term.nulls = 'last';
      else c.fail('expecting "asc", "desc", "nullsfirst" or "nullslast"');
    }
    terms.push(term);
    if (c.done) return terms;
    c.expect(',');
  }
}

export function parseNonNegative(what: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw queryParamError(what, text, `unexpected "${text}" expecting a non-negative integer`);
  return Number(text);
}
