import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http.ts';
import { asCaller, type Caller } from './caller.ts';
import { bucketNotEmpty, bucketNotFound, fromDatabaseError, invalidRequest } from './errors.ts';
import { validateBucketName } from './object-key.ts';
import type { StorageContext } from './storage-context.ts';

/**
 * Bucket routes. Rows in storage.buckets are read and written as the caller, so creating a
 * bucket takes the service role (or a policy that allows it), as on Supabase.
 */
const BUCKET_COLUMNS = 'id, name, owner, public, file_size_limit, allowed_mime_types, created_at, updated_at';
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `file_size_limit` as storage-js passes it: bytes, or a string such as "5MB". */
function parseSizeLimit(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value || null;
  const match = typeof value === 'string' ? /^\s*(\d+)\s*(b|kb|mb|gb)?\s*$/i.exec(value) : null;
  if (!match) throw invalidRequest('Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B');
  return Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!;
}

function parseMimeTypes(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !/^[\w.+-]+\/[\w.+*-]+$/.test(v))) {
    throw invalidRequest('allowed_mime_types must be a list of mime types');
  }
  return value.length ? (value as string[]) : null;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const value = await readJson(req);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw invalidRequest('body must be a JSON object');
}

type BucketRow = { owner: string | null } & Record<string, unknown>;
const render = (row: BucketRow) => ({ ...row, owner: row.owner ?? '', type: 'STANDARD' });

export async function createBucket(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller) {
  const input = await body(req);
  const name = validateBucketName(input.name ?? input.id);
  const id = validateBucketName(input.id ?? name);
  await asCaller(storage.gateway.apiPool, caller, (db) =>
    db.query(
      `insert into storage.buckets (id, name, owner, public, file_size_limit, allowed_mime_types)
       values ($1, $2, auth.uid(), $3, $4, $5)`,
      [id, name, input.public === true, parseSizeLimit(input.file_size_limit), parseMimeTypes(input.allowed_mime_types)],
    ),
  ).catch((error) => {
    throw fromDatabaseError(error, 'BucketAlreadyExists');
  });
  sendJson(res, 200, { name: id });
}

export async function listBuckets(storage: StorageContext, res: ServerResponse, caller: Caller) {
  const rows = await asCaller(storage.gateway.apiPool, caller, async (db) => (await db.query<BucketRow>(`select ${BUCKET_COLUMNS} from storage.buckets order by name`)).rows);
  sendJson(res, 200, rows.map(render));
}

export async function getBucket(storage: StorageContext, res: ServerResponse, caller: Caller, id: string) {
  const rows = await asCaller(storage.gateway.apiPool, caller, async (db) => (await db.query<BucketRow>(`select ${BUCKET_COLUMNS} from storage.buckets where id = $1`, [id])).rows);
  if (!rows[0]) throw bucketNotFound();
  sendJson(res, 200, render(rows[0]));
}

export async function updateBucket(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller, id: string) {
  const input = await body(req);
  const { rowCount } = await asCaller(storage.gateway.apiPool, caller, (db) =>
    db.query(
      `update storage.buckets
          set public = coalesce($2, public), file_size_limit = $3, allowed_mime_types = $4, updated_at = now()
        where id = $1`,
      [id, typeof input.public === 'boolean' ? input.public : null, parseSizeLimit(input.file_size_limit), parseMimeTypes(input.allowed_mime_types)],
    ),
  ).catch((error) => {
    throw fromDatabaseError(error, 'BucketAlreadyExists');
  });
  if (rowCount === 0) throw bucketNotFound();
  sendJson(res, 200, { message: 'Successfully updated' });
}

export async function deleteBucket(storage: StorageContext, res: ServerResponse, caller: Caller, id: string) {
  const { rows } = await storage.gateway.adminPool.query('select 1 from storage.objects where bucket_id = $1 limit 1', [id]);
  if (rows.length > 0) throw bucketNotEmpty();
  const { rowCount } = await asCaller(storage.gateway.apiPool, caller, (db) => db.query('delete from storage.buckets where id = $1', [id])).catch((error) => {
    throw fromDatabaseError(error, 'BucketAlreadyExists');
  });
  if (rowCount === 0) throw bucketNotFound();
  sendJson(res, 200, { message: 'Successfully deleted' });
}

export async function emptyBucket(storage: StorageContext, res: ServerResponse, caller: Caller, id: string) {
  const versions = await asCaller(storage.gateway.apiPool, caller, async (db) => {
    const bucket = await db.query('select 1 from storage.buckets where id = $1', [id]);
    if (bucket.rowCount === 0) throw bucketNotFound();
    return (await db.query<{ version: string | null }>('delete from storage.objects where bucket_id = $1 returning version', [id])).rows;
  }).catch((error) => {
    throw fromDatabaseError(error, 'BucketAlreadyExists');
  });
  await Promise.all(versions.map((row) => storage.store.remove(row.version)));
  sendJson(res, 200, { message: 'Successfully emptied' });
}
