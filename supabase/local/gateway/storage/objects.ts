import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http.ts';
import { asCaller, type Caller } from './caller.ts';
import { bucketNotFound, fromDatabaseError, invalidRequest, objectNotFound } from './errors.ts';
import { validateObjectKey } from './object-key.ts';
import { sendObject, type StoredObject } from './send-object.ts';
import type { StorageContext } from './storage-context.ts';
import { checkMimeType, objectMetadata, readUpload } from './upload-body.ts';

/**
 * Object routes: upload (POST, with x-upsert) and update (PUT), download as the caller or from
 * a public bucket, info, and delete. Metadata goes through the caller's transaction, so the
 * project's policies decide; the bytes are written first under a fresh version and only become
 * reachable when the row pointing at them commits.
 */

/** Storage's limit on keys per delete call. */
const MAX_DELETE_KEYS = 1000;

async function versionOf(storage: StorageContext, bucket: string, key: string): Promise<string | null> {
  const { rows } = await storage.gateway.adminPool.query<{ version: string | null }>(
    'select version from storage.objects where bucket_id = $1 and name = $2',
    [bucket, key],
  );
  return rows[0]?.version ?? null;
}

export async function uploadObject(
  storage: StorageContext,
  req: IncomingMessage,
  res: ServerResponse,
  caller: Caller,
  bucket: string,
  key: string,
  mode: 'create' | 'update',
) {
  // The bucket's limits are read as Storage reads them, as the service itself: a user may
  // upload into a bucket whose row their policies do not let them see.
  const { rows: buckets } = await storage.gateway.adminPool.query<{ file_size_limit: string | null; allowed_mime_types: string[] | null }>(
    'select file_size_limit, allowed_mime_types from storage.buckets where id = $1',
    [bucket],
  );
  const bucketRow = buckets[0];
  if (!bucketRow) throw bucketNotFound();
  const limit = Math.min(storage.maxUploadBytes, bucketRow.file_size_limit === null ? Infinity : Number(bucketRow.file_size_limit));
  const upload = await readUpload(req, limit);
  checkMimeType(upload.mimetype, bucketRow.allowed_mime_types);

  const upsert = mode === 'create' && String(req.headers['x-upsert']).toLowerCase() === 'true';
  const previous = mode === 'update' || upsert ? await versionOf(storage, bucket, key) : null;
  const version = storage.store.newVersion();
  const metadata = JSON.stringify(objectMetadata(upload));
  const userMetadata = upload.userMetadata === null ? null : JSON.stringify(upload.userMetadata);
  await storage.store.write(version, upload.bytes);

  let id: string;
  try {
    id = await asCaller(storage.gateway.apiPool, caller, async (db) => {
      if (mode === 'update') {
        // No RETURNING: an update needs UPDATE (and SELECT to find the row) policies, nothing more.
        const { rowCount } = await db.query(
          `update storage.objects
              set metadata = $3, user_metadata = $4, version = $5, updated_at = now(), last_accessed_at = now()
            where bucket_id = $1 and name = $2`,
          [bucket, key, metadata, userMetadata, version],
        );
        if (rowCount === 0) throw objectNotFound();
        const { rows } = await storage.gateway.adminPool.query<{ id: string }>(
          'select id from storage.objects where bucket_id = $1 and name = $2',
          [bucket, key],
        );
        return rows[0]?.id ?? '';
      }
      if (upsert) {
        // ON CONFLICT DO UPDATE checks the existing row against SELECT and UPDATE policies,
        // which is why Supabase documents upsert as needing select, insert and update.
        const { rows } = await db.query<{ id: string }>(
          `insert into storage.objects (id, bucket_id, name, owner, owner_id, metadata, user_metadata, version)
           values (extensions.gen_random_uuid(), $1, $2, auth.uid(), auth.jwt() ->> 'sub', $3, $4, $5)
           on conflict (bucket_id, name) do update
              set owner = excluded.owner, owner_id = excluded.owner_id, metadata = excluded.metadata,
                  user_metadata = excluded.user_metadata, version = excluded.version,
                  updated_at = now(), last_accessed_at = now()
           returning id`,
          [bucket, key, metadata, userMetadata, version],
        );
        return rows[0]!.id;
      }
      // A plain insert without RETURNING needs only an INSERT policy, as on Supabase; the id
      // is made here so the response can carry it.
      const { rows } = await db.query<{ id: string }>('select extensions.gen_random_uuid() as id');
      const newId = rows[0]!.id;
      await db.query(
        `insert into storage.objects (id, bucket_id, name, owner, owner_id, metadata, user_metadata, version)
         values ($1, $2, $3, auth.uid(), auth.jwt() ->> 'sub', $4, $5, $6)`,
        [newId, bucket, key, metadata, userMetadata, version],
      );
      return newId;
    });
  } catch (error) {
    await storage.store.remove(version);
    throw fromDatabaseError(error, 'KeyAlreadyExists');
  }
  // The replaced bytes are unreachable once the new row committed. Re-read: a concurrent
  // overwrite may have committed after ours, in which case ours is the orphan.
  const current = await versionOf(storage, bucket, key);
  if (previous && previous !== current) await storage.store.remove(previous);
  if (current !== version) await storage.store.remove(version);
  sendJson(res, 200, { Id: id, Key: `${bucket}/${key}` });
}

const OBJECT_COLUMNS = 'id, name, version, metadata, user_metadata, bucket_id, created_at, updated_at, last_accessed_at';
type ObjectRow = StoredObject & {
  id: string;
  bucket_id: string;
  user_metadata: Record<string, unknown> | null;
  created_at: Date;
  last_accessed_at: Date;
};

/** The object as the caller may see it, or Storage's 404: invisible and missing look the same. */
export async function findObjectAsCaller(storage: StorageContext, caller: Caller, bucket: string, key: string): Promise<ObjectRow> {
  const rows = await asCaller(storage.gateway.apiPool, caller, async (db) => {
    const result = await db.query<ObjectRow>(`select ${OBJECT_COLUMNS} from storage.objects where bucket_id = $1 and name = $2`, [bucket, key]);
    return result.rows;
  });
  if (!rows[0]) throw objectNotFound();
  return rows[0];
}

export async function findObjectAsService(storage: StorageContext, bucket: string, key: string): Promise<ObjectRow> {
  const { rows } = await storage.gateway.adminPool.query<ObjectRow>(
    `select ${OBJECT_COLUMNS} from storage.objects where bucket_id = $1 and name = $2`,
    [bucket, key],
  );
  if (!rows[0]) throw objectNotFound();
  return rows[0];
}

export async function downloadObject(storage: StorageContext, req: IncomingMessage, res: ServerResponse, url: URL, caller: Caller, bucket: string, key: string) {
  await sendObject(req, res, url, storage.store, await findObjectAsCaller(storage, caller, bucket, key));
}

/** Public buckets are readable by anyone with the URL; policies are not consulted, as on Supabase. */
export async function downloadPublicObject(storage: StorageContext, req: IncomingMessage, res: ServerResponse, url: URL, bucket: string, key: string) {
  const { rows } = await storage.gateway.adminPool.query('select 1 from storage.buckets where id = $1 and public', [bucket]);
  if (rows.length === 0) throw bucketNotFound();
  await sendObject(req, res, url, storage.store, await findObjectAsService(storage, bucket, key));
}

export async function objectInfo(storage: StorageContext, res: ServerResponse, caller: Caller, bucket: string, key: string) {
  const row = await findObjectAsCaller(storage, caller, bucket, key);
  const metadata = (row.metadata ?? {}) as Record<string, unknown>;
  sendJson(res, 200, {
    id: row.id,
    name: row.name,
    version: row.version,
    bucket_id: row.bucket_id,
    size: metadata.size ?? null,
    content_type: metadata.mimetype ?? null,
    cache_control: metadata.cacheControl ?? null,
    etag: metadata.eTag ?? null,
    metadata: row.user_metadata,
    last_modified: row.updated_at,
    created_at: row.created_at,
  });
}

/** Deletes what the caller's DELETE (and SELECT) policies allow; returns the rows removed. */
async function deleteAsCaller(storage: StorageContext, caller: Caller, bucket: string, keys: string[]) {
  const rows = await asCaller(storage.gateway.apiPool, caller, async (db) => {
    const result = await db.query<ObjectRow & { owner: string | null }>(
      `delete from storage.objects where bucket_id = $1 and name = any($2::text[])
       returning ${OBJECT_COLUMNS}, owner`,
      [bucket, keys],
    );
    return result.rows;
  }).catch((error) => {
    throw fromDatabaseError(error, 'KeyAlreadyExists');
  });
  await Promise.all(rows.map((row) => storage.store.remove(row.version)));
  return rows;
}

export async function removeObjects(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller, bucket: string) {
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    throw invalidRequest('body is not JSON');
  }
  const prefixes = (body as { prefixes?: unknown } | undefined)?.prefixes;
  if (!Array.isArray(prefixes) || prefixes.length === 0 || prefixes.length > MAX_DELETE_KEYS || prefixes.some((p) => typeof p !== 'string')) {
    throw invalidRequest(`prefixes must be a list of 1 to ${MAX_DELETE_KEYS} object names`);
  }
  const keys = (prefixes as string[]).map(validateObjectKey);
  const rows = await deleteAsCaller(storage, caller, bucket, keys);
  sendJson(
    res,
    200,
    rows.map(({ version: _version, ...row }) => row),
  );
}

export async function removeObject(storage: StorageContext, res: ServerResponse, caller: Caller, bucket: string, key: string) {
  const rows = await deleteAsCaller(storage, caller, bucket, [key]);
  if (rows.length === 0) throw objectNotFound();
  sendJson(res, 200, { message: 'Successfully deleted' });
}
