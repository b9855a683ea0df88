import { HttpError } from '../http.ts';

/**
 * PostgREST's error body `{code, details, hint, message}` and its mapping from SQLSTATE to
 * HTTP status. postgrest-js hands the body to the caller as `error` untouched, so the field
 * names, nulls and codes are the contract the app's error handling is written against.
 */
export class PostgrestError extends HttpError {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    details: string | null = null,
    hint: string | null = null,
    headers: Record<string, string> = {},
  ) {
    super(status, { code, details, hint, message }, headers);
  }
}

/** PGRST100: the query string does not follow PostgREST's grammar. */
export function queryParamError(what: string, input: string, details: string): PostgrestError {
  return new PostgrestError(400, 'PGRST100', `"failed to parse ${what} (${input})"`, details);
}

export function invalidBody(message = 'Empty or invalid json'): PostgrestError {
  return new PostgrestError(400, 'PGRST102', message);
}

export function tableNotFound(name: string): PostgrestError {
  return new PostgrestError(404, 'PGRST205', `Could not find the table 'public.${name}' in the schema cache`);
}

/** Reads name unknown columns the way Postgres would (42703), writes the way PostgREST does (PGRST204). */
export function undefinedColumn(table: string, column: string): PostgrestError {
  return new PostgrestError(400, '42703', `column ${table}.${column} does not exist`);
}

export function columnNotFound(table: string, column: string): PostgrestError {
  return new PostgrestError(400, 'PGRST204', `Could not find the '${column}' column of '${table}' in the schema cache`);
}

export function singularityError(rows: number): PostgrestError {
  return new PostgrestError(
    406,
    'PGRST116',
    'Cannot coerce the result to a single JSON object',
    `The result contains ${rows} rows`,
  );
}

/** The fields of a server error as node-postgres exposes them. */
export interface ServerErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

/**
 * SQLSTATE → HTTP status, as PostgREST maps it. `authed` is "the request carried a role
 * other than anon": a permission error is 401 (log in) for anon and 403 (forbidden) otherwise.
 */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  const ptStatus = /^PT(\d{3})$/.exec(code);
  if (ptStatus) return Number(ptStatus[1]);
  switch (code) {
    case '23503':
    case '23505':
      return 409;
    case '25006':
      return 405;
    case '21000':
      return message.endsWith('requires a WHERE clause') ? 400 : 500;
    case '22023':
      // The JWT names a role that does not exist: an authentication failure, not bad input.
      return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
    case '53400':
      return 500;
    case '57P01':
      return 503;
    case 'P0001':
      return 400;
    case '42883':
      return 404;
    case '42P01':
      return 404;
    case '42P17':
      return 500;
    case '42501':
      return authed ? 403 : 401;
  }
  const prefixes: [string, number][] = [
    ['08', 503], ['09', 500], ['0L', 403], ['0P', 403], ['25', 500], ['28', 403], ['2D', 500],
    ['38', 500], ['39', 500], ['3B', 500], ['40', 500], ['53', 503], ['54', 500], ['55', 500],
    ['57', 500], ['58', 500], ['F0', 500], ['HV', 500], ['P0', 500], ['XX', 500],
  ];
  for (const [prefix, status] of prefixes) if (code.startsWith(prefix)) return status;
  return 400;
}

/**
 * A database error as PostgREST reports it. `RAISE SQLSTATE 'PGRST'` with a JSON message
 * and detail gives the function full control of code, status and headers.
 */
export function fromServerError(error: ServerErrorFields, authed: boolean): PostgrestError {
  const code = error.code ?? 'XX000';
  if (code === 'PGRST') return fromRaisedPgrst(error);
  const status = statusForSqlState(code, error.message, authed);
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  return new PostgrestError(status, code, error.message, error.detail ?? null, error.hint ?? null, headers);
}

function fromRaisedPgrst(error: ServerErrorFields): PostgrestError {
  const parse = (text: string | undefined): Record<string, unknown> | undefined => {
    try {
      const value = text === undefined ? undefined : JSON.parse(text);
      return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const body = parse(error.message);
  if (!body || typeof body.code !== 'string' || typeof body.message !== 'string') {
    return new PostgrestError(
      500,
      'PGRST121',
      'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
      `Invalid JSON value for MESSAGE: '${error.message}'`,
      "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.",
    );
  }
  const detail = parse(error.detail);
  if (!detail || typeof detail.status !== 'number' || typeof detail.headers !== 'object' || detail.headers === null) {
    return new PostgrestError(
      500,
      'PGRST121',
      'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
      error.detail === undefined ? 'DETAIL is missing in the RAISE statement' : `Invalid JSON value for DETAIL: '${error.detail}'`,
      "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.",
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(detail.headers as Record<string, unknown>)) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return new PostgrestError(detail.status, body.code, body.message, text(body.details), text(body.hint), headers);
}
