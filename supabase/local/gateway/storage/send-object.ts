import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { DiskStore } from './disk-store.ts';
import { objectNotFound } from './errors.ts';

export interface StoredObject {
  name: string;
  version: string | null;
  metadata: { mimetype?: string; cacheControl?: string; eTag?: string; size?: number } | null;
  updated_at: Date;
}

/**
 * Streams an object's bytes with the headers Storage sends: the stored content type and cache
 * control, ETag (so a browser revalidates with If-None-Match and gets 304), Last-Modified, and
 * Content-Disposition when `?download` asks for a file save.
 */
export async function sendObject(req: IncomingMessage, res: ServerResponse, url: URL, store: DiskStore, object: StoredObject) {
  if (!object.version) throw objectNotFound();
  const handle = await store.open(object.version);
  // A row whose bytes are gone is, to the caller, an object that does not exist.
  if (!handle) throw objectNotFound();
  try {
    const { size } = await handle.stat();
    const metadata = object.metadata ?? {};
    const headers: Record<string, string | number> = {
      'content-type': metadata.mimetype ?? 'application/octet-stream',
      'cache-control': metadata.cacheControl ?? 'no-cache',
      'last-modified': new Date(object.updated_at).toUTCString(),
      'accept-ranges': 'none',
    };
    if (metadata.eTag) headers.etag = metadata.eTag;
    const download = url.searchParams.get('download');
    if (download !== null) {
      const filename = download || object.name.split('/').pop() || 'download';
      headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`;
    }
    if (metadata.eTag && req.headers['if-none-match'] === metadata.eTag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ autoClose: false }), res);
  } finally {
    await handle.close();
  }
}
