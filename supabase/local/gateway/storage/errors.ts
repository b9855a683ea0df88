import { HttpError } from '../http.ts';

/**
 * Storage API errors as Supabase Storage renders them: a body
 * `{statusCode: "<semantic status>", code, error, message}` sent with HTTP 400 for every 4xx
 * (500 for server faults). storage-js builds `StorageApiError` from it: `.status` is the HTTP
 * status (400), `.statusCode` the semantic one ("404", "403", "409"), `.code` the code. Apps
 * and the worker branch on `statusCode`/`code`, so those are what must match.
 */
export class StorageError extends HttpError {
  constructor(
    readonly semanticStatus: number,
    readonly code: string,
    message: string,
    error: string = code,
  ) {
    super(semanticStatus >= 500 ? 500 : 400, { statusCode: String(semanticStatus), code, error, message });
  }
}

export const objectNotFound = () => new StorageError(404, 'NoSuchKey', 'Object not found', 'not_found');
export const bucketNotFound = () => new StorageError(404, 'NoSuchBucket', 'Bucket not found', 'Bucket not found');
export const alreadyExists = (code: 'KeyAlreadyExists' | 'BucketAlreadyExists') =>
  new StorageError(409, code, 'The resource already exists', 'Duplicate');
/** What Storage answers when a policy refuses the caller's insert, update or delete. */
export const rlsDenied = () => new StorageError(403, 'AccessDenied', 'new row violates row-level security policy', 'Unauthorized');
export const invalidKey = (key: string) => new StorageError(400, 'InvalidKey', `Invalid key: ${JSON.stringify(key).slice(1, -1)}`);
export const invalidBucketName = () => new StorageError(400, 'InvalidBucketName', 'Bucket name invalid', 'Invalid Input');
export const invalidRequest = (message: string) => new StorageError(400, 'InvalidRequest', message);
/** A bad or expired bearer token: Storage's JWT check answers 403 Unauthorized. */
export const unauthorized = (message: string) => new StorageError(403, 'AccessDenied', message, 'Unauthorized');
/** A bad or expired signed-URL token. */
export const invalidJwt = (message: string) => new StorageError(400, 'InvalidJWT', message);
export const invalidSignature = (message: string) => new StorageError(400, 'InvalidSignature', message);
export const entityTooLarge = () =>
  new StorageError(413, 'EntityTooLarge', 'The object exceeded the maximum allowed size', 'Payload too large');
export const invalidMimeType = (mimeType: string) =>
  new StorageError(415, 'InvalidMimeType', `mime type ${mimeType} is not supported`, 'invalid_mime_type');
export const bucketNotEmpty = () => new StorageError(409, 'ResourceNotEmpty', 'The bucket you tried to delete is not empty');

/** Maps the database errors a caller can cause onto Storage's answers; anything else is a 500. */
export function fromDatabaseError(error: unknown, duplicate: 'KeyAlreadyExists' | 'BucketAlreadyExists'): unknown {
  const code = (error as { code?: string }).code;
  if (code === '42501') return rlsDenied(); // insufficient_privilege: an RLS policy said no
  if (code === '23505') return alreadyExists(duplicate); // unique_violation
  if (code === '23503') return bucketNotFound(); // foreign_key_violation on bucket_id
  return error;
}
