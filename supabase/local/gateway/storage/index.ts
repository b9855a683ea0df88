import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, type GatewayContext, type GatewayService } from '../http.ts';
import { createBucket, deleteBucket, emptyBucket, getBucket, listBuckets, updateBucket } from './buckets.ts';
import { resolveCaller } from './caller.ts';
import { DiskStore } from './disk-store.ts';
import { StorageError } from './errors.ts';
import { listObjects } from './list-objects.ts';
import { parseObjectPath, validateBucketName } from './object-key.ts';
import { downloadObject, downloadPublicObject, objectInfo, removeObject, removeObjects, uploadObject } from './objects.ts';
import { createSignedUrl, createSignedUrls, serveSignedUrl } from './signed-urls.ts';
import type { StorageContext } from './storage-context.ts';

/**
 * `/storage/v1`: the Supabase Storage API subset supabase-js uses — buckets, upload/update with
 * x-upsert, authenticated and public download, info, list, remove, signed URLs. Metadata lives
 * in storage.buckets / storage.objects and is touched as the caller (RLS decides, as on
 * Supabase); bytes live on disk under `root`, named by version id.
 */
export interface StorageOptions {
  /**
   * Where object bytes are kept (the local stack: .local/storage). Without it, a folder of the
   * gateway's own in the OS temp dir, removed when the gateway closes.
   */
  root?: string;
  /** Upload cap in bytes before any bucket limit; Supabase's default is 50 MB. */
  maxUploadBytes?: number;
}

const DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

function routeNotFound(): never {
  throw new StorageError(404, 'NotFound', 'Route not found', 'Not Found');
}

export function createStorageService(ctx: GatewayContext, options: StorageOptions = {}): GatewayService {
  const storage: StorageContext = {
    gateway: ctx,
    store: options.root ? new DiskStore(options.root) : DiskStore.throwaway(),
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
  };

  const route = async (req: IncomingMessage, res: ServerResponse, path: string, url: URL) => {
    const method = req.method ?? 'GET';
    const caller = () => resolveCaller(req, url, ctx);

    // Buckets: /bucket, /bucket/{id}, /bucket/{id}/empty
    const bucketMatch = /^\/bucket(?:\/([^/]+)(\/empty)?)?\/?$/.exec(path);
    if (bucketMatch) {
      const [, rawId, empty] = bucketMatch;
      if (rawId === undefined) {
        if (method === 'GET') return listBuckets(storage, res, await caller());
        if (method === 'POST') return createBucket(storage, req, res, await caller());
        return routeNotFound();
      }
      const id = validateBucketName(decodeURIComponent(rawId));
      if (empty) return method === 'POST' ? emptyBucket(storage, res, await caller(), id) : routeNotFound();
      if (method === 'GET') return getBucket(storage, res, await caller(), id);
      if (method === 'PUT') return updateBucket(storage, req, res, await caller(), id);
      if (method === 'DELETE') return deleteBucket(storage, res, await caller(), id);
      return routeNotFound();
    }

    if (!path.startsWith('/object/')) return routeNotFound();
    const rest = path.slice('/object/'.length);
    const [head, ...tail] = rest.split('/');
    const below = tail.join('/');

    if (head === 'list' && method === 'POST') {
      return listObjects(storage, req, res, await caller(), validateBucketName(decodeURIComponent(below)));
    }
    if (head === 'sign') {
      if (method === 'POST' && !below.includes('/')) {
        return createSignedUrls(storage, req, res, await caller(), validateBucketName(decodeURIComponent(below)));
      }
      const { bucket, key } = parseObjectPath(below);
      if (method === 'POST') return createSignedUrl(storage, req, res, await caller(), bucket, key);
      // Signed URLs are their own authorisation: no caller JWT is read.
      if (method === 'GET' || method === 'HEAD') return serveSignedUrl(storage, req, res, url, bucket, key);
      return routeNotFound();
    }
    if (head === 'public' && (method === 'GET' || method === 'HEAD')) {
      const { bucket, key } = parseObjectPath(below);
      return downloadPublicObject(storage, req, res, url, bucket, key);
    }
    if (head === 'authenticated' && (method === 'GET' || method === 'HEAD')) {
      const { bucket, key } = parseObjectPath(below);
      return downloadObject(storage, req, res, url, await caller(), bucket, key);
    }
    if (head === 'info' && method === 'GET') {
      const target = below.startsWith('authenticated/') ? below.slice('authenticated/'.length) : below;
      const { bucket, key } = parseObjectPath(target);
      return objectInfo(storage, res, await caller(), bucket, key);
    }
    // /object/{bucket} (bulk delete) and /object/{bucket}/{key}
    if (!rest.includes('/')) {
      if (method === 'DELETE') return removeObjects(storage, req, res, await caller(), validateBucketName(decodeURIComponent(rest)));
      return routeNotFound();
    }
    const { bucket, key } = parseObjectPath(rest);
    switch (method) {
      case 'POST':
        return uploadObject(storage, req, res, await caller(), bucket, key, 'create');
      case 'PUT':
        return uploadObject(storage, req, res, await caller(), bucket, key, 'update');
      case 'GET':
      case 'HEAD':
        return downloadObject(storage, req, res, url, await caller(), bucket, key);
      case 'DELETE':
        return removeObject(storage, res, await caller(), bucket, key);
      default:
        return routeNotFound();
    }
  };

  return {
    async close() {
      if (!options.root) await storage.store.discard();
    },
    async handle(req, res, path, url) {
      try {
        await route(req, res, path, url);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        if (error instanceof URIError) throw new StorageError(400, 'InvalidRequest', 'malformed percent-encoding in the path');
        // Anything unexpected is Storage's 500 shape; the detail goes to the log, not the client.
        ctx.log(`storage: ${req.method} ${path} failed: ${(error as Error).stack ?? error}`);
        throw new StorageError(500, 'InternalError', 'Internal server error', 'internal');
      }
    },
  };
}
