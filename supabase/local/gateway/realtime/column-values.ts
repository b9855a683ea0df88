/**
 * Turns the text form pgoutput sends into the JSON values Supabase Realtime puts in `record`
 * and `old_record`: what `to_jsonb(value::type)` gives (numbers, booleans, parsed json, JSON
 * arrays, ISO timestamps), so the client's `columns[].type` conversion sees what it expects.
 * Done here rather than in SQL because it runs for every column of every change.
 */

export interface PgTypeInfo {
  /** pg_type.typname, e.g. `int4`, `_text`, `timestamptz`: what `columns[].type` carries. */
  name: string;
  /** For array types, the element type's oid (pg_type.typelem), else 0. */
  elementOid: number;
  /** pg_type.typdelim of the element type (`,` for everything but box). */
  delimiter: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid']);

/** Converts one scalar in text form to its JSON value, by type name. */
export function scalarToJson(typeName: string, text: string): JsonValue {
  if (typeName === 'bool') return text === 't' || text === 'true';
  if (NUMBER_TYPES.has(typeName)) {
    const n = Number(text);
    // to_jsonb keeps NaN/Infinity as strings; so do we. Integers past 2^53 stay exact as strings.
    if (!Number.isFinite(n)) return text;
    if ((typeName === 'int8' || typeName === 'numeric') && !Number.isSafeInteger(n) && Number.isInteger(n)) return text;
    return n;
  }
  if (typeName === 'json' || typeName === 'jsonb') {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return text;
    }
  }
  if (typeName === 'timestamptz') return isoTimestamp(text, true);
  if (typeName === 'timestamp') return isoTimestamp(text, false);
  return text;
}

/**
 * `2024-05-01 12:00:00.5+00` (DateStyle ISO, which the replication session uses) to
 * `2024-05-01T12:00:00.5+00:00`, the format to_jsonb and PostgREST use.
 */
function isoTimestamp(text: string, withZone: boolean): string {
  const m = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})?(?::?(\d{2}))?(?::?(\d{2}))?( BC)?$/.exec(text);
  if (!m) return text; // infinity, BC dates: leave as Postgres wrote them
  const [, date, time, zh, zm, zs, bc] = m;
  if (bc) return text;
  if (!withZone || !zh) return `${date}T${time}`;
  return `${date}T${time}${zh}:${zm ?? '00'}${zs ? `:${zs}` : ''}`;
}

/** Parses a Postgres array literal (`{1,2,NULL}`, `{"a b","c\"d"}`, nested `{{1,2},{3,4}}`). */
export function parseArrayLiteral(text: string, delimiter: string, convert: (item: string) => JsonValue): JsonValue {
  let i = 0;
  // Optional dimension decoration: `[1:2]={...}`.
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    if (eq > 0) i = eq + 1;
  }
  const parseLevel = (): JsonValue[] => {
    if (text[i] !== '{') throw new Error('array literal must start with {');
    i++;
    const out: JsonValue[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parseLevel());
      } else if (text[i] === '"') {
        i++;
        let s = '';
        // Bounded by the text: an unterminated quote once ran past the end, appending
        // "undefined" until the string outgrew V8's limit, about 90 s of CPU for one value.
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        if (i >= text.length) throw new Error('unterminated quoted element');
        i++;
        out.push(convert(s));
      } else {
        const start = i;
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++;
        const raw = text.slice(start, i).trim();
        out.push(raw === 'NULL' ? null : convert(raw));
      }
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw new Error('malformed array literal');
    }
  };
  try {
    return parseLevel();
  } catch {
    return text;
  }
}

/** Converts one column value, arrays included, given the type catalogue. */
export function columnToJson(type: PgTypeInfo, text: string | null, lookup: (oid: number) => PgTypeInfo | undefined): JsonValue {
  if (text === null) return null;
  if (type.elementOid) {
    const element = lookup(type.elementOid);
    const elementName = element?.name ?? 'text';
    return parseArrayLiteral(text, element?.delimiter ?? ',', (item) => scalarToJson(elementName, item));
  }
  return scalarToJson(type.name, text);
}
