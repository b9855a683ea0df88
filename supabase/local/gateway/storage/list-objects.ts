import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http.ts';
import { asCaller, type Caller } from './caller.ts';
import { invalidRequest } from './errors.ts';
import { validateObjectKey } from './object-key.ts';
import type { StorageContext } from './storage-context.ts';

/**
 * `POST /object/list/{bucket}`: one folder level, as Storage's `storage.search()` answers it:
 * the files directly under the prefix plus one entry per sub-folder (id and metadata null),
 * filtered by `search`, sorted, paged. Runs as the caller, so only objects their SELECT policies
 * show are listed, and a folder appears only if something in it is visible.
 */
const SORT_COLUMNS: Record<string, string> = {
  name: 'name',
  updated_at: 'updated_at',
  created_at: 'created_at',
  last_accessed_at: 'last_accessed_at',
};

interface ListBody {
  prefix?: unknown;
  limit?: unknown;
  offset?: unknown;
  search?: unknown;
  sortBy?: { column?: unknown; order?: unknown };
}

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function listObjects(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller, bucket: string) {
  let body: ListBody;
  try {
    body = ((await readJson(req)) ?? {}) as ListBody;
  } catch {
    throw invalidRequest('body is not JSON');
  }
  const rawPrefix = body.prefix ?? '';
  if (typeof rawPrefix !== 'string') throw invalidRequest('prefix must be a string');
  const folder = rawPrefix.replace(/^\/+|\/+$/g, '');
  const prefix = folder ? `${validateObjectKey(folder)}/` : '';
  const limit = body.limit ?? 100;
  const offset = body.offset ?? 0;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 1000) throw invalidRequest('limit must be an integer from 1 to 1000');
  if (!Number.isInteger(offset) || (offset as number) < 0) throw invalidRequest('offset must be a non-negative integer');
  const search = body.search ?? '';
  if (typeof search !== 'string') throw invalidRequest('search must be a string');
  // The sort column and direction are identifiers, so they come from a fixed list, never the body.
  const column = SORT_COLUMNS[String(body.sortBy?.column ?? 'name')];
  if (!column) throw invalidRequest(`sortBy.column must be one of ${Object.keys(SORT_COLUMNS).join(', ')}`);
  const order = String(body.sortBy?.order ?? 'asc').toLowerCase();
  if (order !== 'asc' && order !== 'desc') throw invalidRequest('sortBy.order must be asc or desc');

  const rows = await asCaller(storage.gateway.apiPool, caller, async (db) => {
    const { rows } = await db.query(
      `with level as (
         select split_part(substr(o.name, char_length($2::text) + 1), '/', 1) as item,
                strpos(substr(o.name, char_length($2::text) + 1), '/') > 0 as is_folder,
                o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata
           from storage.objects o
          where o.bucket_id = $1 and left(o.name, char_length($2::text)) = $2
       ), entries as (
         select distinct on (item, is_folder)
                item as name,
                case when is_folder then null else id end as id,
                case when is_folder then null else updated_at end as updated_at,
                case when is_folder then null else created_at end as created_at,
                case when is_folder then null else last_accessed_at end as last_accessed_at,
                case when is_folder then null else metadata end as metadata
           from level
          where item <> '' and item ilike $3 escape '\\'
          order by item, is_folder
       )
       select * from entries
        order by ${column} ${order} nulls last, name ${order}
        limit $4 offset $5`,
      [bucket, prefix, `${likeEscape(search)}%`, limit, offset],
    );
    return rows;
  });
  sendJson(res, 200, rows);
}
