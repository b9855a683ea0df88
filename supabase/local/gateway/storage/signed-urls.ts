import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http.ts';
import { asCaller, verifyStorageJwt, type Caller } from './caller.ts';
import { invalidRequest, invalidSignature } from './errors.ts';
import { validateObjectKey } from './object-key.ts';
import { findObjectAsCaller, findObjectAsService } from './objects.ts';
import { sendObject } from './send-object.ts';
import type { StorageContext } from './storage-context.ts';

/**
 * Signed URLs as Supabase Storage makes them: the token is a JWT signed with the project's
 * signing key (so it survives legacy keys being switched off) whose `url` claim is `bucket/key` and whose `exp` ends it. Signing checks that the
 * caller may read the object (their policies); serving checks only the token, so the URL works
 * in an <img> tag with no session. A token for one object cannot open another: the claim must
 * equal the requested path.
 */
const MAX_PATHS = 1000;

function parseExpiresIn(body: unknown): number {
  const expiresIn = (body as { expiresIn?: unknown } | undefined)?.expiresIn;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 1) {
    throw invalidRequest('expiresIn must be a positive number of seconds');
  }
  return Math.floor(expiresIn);
}

async function readBodyJson(req: IncomingMessage): Promise<unknown> {
  try {
    return await readJson(req);
  } catch {
    throw invalidRequest('body is not JSON');
  }
}

async function sign(storage: StorageContext, bucket: string, key: string, expiresIn: number): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const token = await storage.gateway.keys.tokens.sign({ url: `${bucket}/${key}`, iat, exp: iat + expiresIn });
  // Not percent-encoded: storage-js applies encodeURI to the whole URL, as Storage expects.
  return `/object/sign/${bucket}/${key}?token=${token}`;
}

export async function createSignedUrl(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller, bucket: string, key: string) {
  const expiresIn = parseExpiresIn(await readBodyJson(req));
  await findObjectAsCaller(storage, caller, bucket, key);
  sendJson(res, 200, { signedURL: await sign(storage, bucket, key, expiresIn) });
}

export async function createSignedUrls(storage: StorageContext, req: IncomingMessage, res: ServerResponse, caller: Caller, bucket: string) {
  const body = await readBodyJson(req);
  const expiresIn = parseExpiresIn(body);
  const paths = (body as { paths?: unknown }).paths;
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_PATHS || paths.some((p) => typeof p !== 'string')) {
    throw invalidRequest(`paths must be a list of 1 to ${MAX_PATHS} object names`);
  }
  const keys = (paths as string[]).map(validateObjectKey);
  const visible = await asCaller(storage.gateway.apiPool, caller, async (db) => {
    const { rows } = await db.query<{ name: string }>('select name from storage.objects where bucket_id = $1 and name = any($2::text[])', [bucket, keys]);
    return new Set(rows.map((r) => r.name));
  });
  sendJson(
    res,
    200,
    await Promise.all(
      keys.map(async (key) =>
        visible.has(key)
          ? { error: null, path: key, signedURL: await sign(storage, bucket, key, expiresIn) }
          : { error: 'Either the object does not exist or you do not have access to it', path: key, signedURL: null },
      ),
    ),
  );
}

export async function serveSignedUrl(storage: StorageContext, req: IncomingMessage, res: ServerResponse, url: URL, bucket: string, key: string) {
  const token = url.searchParams.get('token');
  if (!token) throw invalidRequest("querystring must have required property 'token'");
  const claims = await verifyStorageJwt(token, storage.gateway.keys, 'signed-url');
  if (claims.url !== `${bucket}/${key}`) throw invalidSignature('The url do not match the signature');
  await sendObject(req, res, url, storage.store, await findObjectAsService(storage, bucket, key));
}
