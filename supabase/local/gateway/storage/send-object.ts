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
 * Content-Disposition for `?download[=name]`, as hosted Storage writes it (its renderer's
 * handleDownload): a bare `attachment;` for an empty name (the browser names the file from the
 * URL), otherwise `filename` as a token or quoted string with every character outside printable
 * ASCII, `"` and `\\` replaced by `_` (old clients), and the exact name in `filename*` (RFC 8187).
 * Control characters never reach the header: a name cannot add a header of its own.
 */
export function contentDisposition(download: string): string {
  if (download === '') return 'attachment;';
  const fallback = [...download].map((c) => (c < ' ' || c > '~' || c === '"' || c === '\\' ? '_' : c)).join('');
  const filename = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(fallback) ? fallback : `"${fallback}"`;
  // encodeURIComponent leaves ' ( ) * unencoded; RFC 8187's attr-char does not allow them.
  const extValue = encodeURIComponent(download).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename=${filename}; filename*=UTF-8''${extValue}`;
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
    if (download !== null) headers['content-disposition'] = contentDisposition(download);
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
