import { invalidBucketName, invalidKey } from './errors.ts';

/**
 * Object keys and bucket names as Storage accepts them. Keys never address the disk (bytes are
 * stored under a server-made version id), but a key is also what policies match with
 * `storage.foldername(name)`: `alice/../bob/x.png` must not exist as a name, or a policy on
 * the first folder would be judging a path the app never meant. So, as S3 and Storage do:
 * at most 1024 bytes, no empty, `.` or `..` segments, no leading or trailing slash, no control
 * characters (NUL included) and no backslash.
 */
export const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

export function validateObjectKey(key: string): string {
  if (
    key.length === 0 ||
    Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES ||
    FORBIDDEN.test(key) ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES)
  ) {
    throw invalidKey(key.length > 200 ? `${key.slice(0, 200)}...` : key);
  }
  return key;
}

/** Storage's bucket-name rule: letters, digits and a few punctuation marks; never a slash. */
const BUCKET_NAME = /^[A-Za-z0-9_\-. !*'()&$@=;:+,?]{1,100}$/;

export function validateBucketName(name: unknown): string {
  if (typeof name !== 'string' || !BUCKET_NAME.test(name) || name === '.' || name === '..') throw invalidBucketName();
  return name;
}

/** Splits `bucket/a/b.png` from a request path (still percent-encoded) into bucket and key. */
export function parseObjectPath(rest: string): { bucket: string; key: string } {
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalidKey(rest);
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(rest.slice(0, slash));
    key = rest
      .slice(slash + 1)
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
  } catch {
    throw invalidKey(rest);
  }
  return { bucket: validateBucketName(bucket), key: validateObjectKey(key) };
}
