import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, readBody } from '../http.ts';
import { entityTooLarge, invalidMimeType, invalidRequest } from './errors.ts';

/**
 * The bytes and headers of an upload, in either form storage-js sends: a multipart form (when
 * given a Blob, File or FormData: the file part plus `cacheControl` and `metadata` fields) or
 * the raw body (Buffer, ArrayBuffer, stream, string: with `content-type`, `cache-control` and a
 * base64 JSON `x-metadata` header).
 */
export interface UploadBody {
  bytes: Uint8Array;
  mimetype: string;
  cacheControl: string;
  userMetadata: Record<string, unknown> | null;
}

/** Room for multipart boundaries and fields on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

function parseUserMetadata(raw: string | null | undefined): Record<string, unknown> | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw invalidRequest('metadata must be a JSON object');
}

function cacheControlHeader(value: string | null | undefined): string {
  if (!value) return 'max-age=3600';
  // storage-js sends `3600` in forms and `max-age=3600` in headers; store one form.
  return /^\d+$/.test(value) ? `max-age=${value}` : value;
}

export async function readUpload(req: IncomingMessage, limit: number): Promise<UploadBody> {
  const contentType = req.headers['content-type'] ?? 'application/octet-stream';
  const multipart = /^multipart\/form-data/i.test(contentType);
  let raw: Buffer;
  try {
    raw = await readBody(req, limit + (multipart ? MULTIPART_OVERHEAD : 0));
  } catch (error) {
    if (error instanceof HttpError && error.status === 413) throw entityTooLarge();
    throw error;
  }
  if (!multipart) {
    if (raw.length > limit) throw entityTooLarge();
    const header = req.headers['x-metadata'];
    return {
      bytes: raw,
      mimetype: contentType,
      cacheControl: cacheControlHeader(req.headers['cache-control']),
      userMetadata: parseUserMetadata(typeof header === 'string' ? Buffer.from(header, 'base64').toString('utf8') : null),
    };
  }
  let form: FormData;
  try {
    // The platform's own multipart parser (undici), rather than a hand-rolled one.
    form = await new Request('http://storage.local/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw.buffer, raw.byteOffset, raw.length) as Uint8Array<ArrayBuffer> }).formData();
  } catch {
    throw invalidRequest('malformed multipart body');
  }
  let file: Blob | undefined;
  form.forEach((value) => {
    if (!file && typeof value !== 'string') file = value;
  });
  if (!file) throw invalidRequest('No content provided');
  if (file.size > limit) throw entityTooLarge();
  const field = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value : null;
  };
  return {
    bytes: new Uint8Array(await file.arrayBuffer()),
    mimetype: file.type || 'application/octet-stream',
    cacheControl: cacheControlHeader(field('cacheControl')),
    userMetadata: parseUserMetadata(field('metadata')),
  };
}

/** A bucket's allowed_mime_types accepts exact types and `type/*` wildcards. */
export function checkMimeType(mimetype: string, allowed: string[] | null): void {
  if (!allowed || allowed.length === 0) return;
  const base = mimetype.split(';')[0]!.trim().toLowerCase();
  const ok = allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.endsWith('/*') ? base.startsWith(p.slice(0, -1)) : base === p;
  });
  if (!ok) throw invalidMimeType(base);
}

/** The metadata column Storage writes: what downloads and listings report. */
export function objectMetadata(upload: UploadBody) {
  const size = upload.bytes.length;
  return {
    eTag: `"${createHash('md5').update(upload.bytes).digest('hex')}"`,
    size,
    mimetype: upload.mimetype,
    cacheControl: upload.cacheControl,
    lastModified: new Date().toISOString(),
    contentLength: size,
    httpStatusCode: 200,
  };
}
