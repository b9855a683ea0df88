import type { IncomingMessage } from 'node:http';
import { PostgrestError } from './errors.ts';

/** The `Prefer` header values PostgREST understands; unknown ones are ignored, as it does by default. */
export interface Preferences {
  return?: 'minimal' | 'representation' | 'headers-only';
  count?: 'exact' | 'planned' | 'estimated';
  resolution?: 'merge-duplicates' | 'ignore-duplicates';
  missing?: 'default' | 'null';
  tx?: 'commit' | 'rollback';
  /** The preferences that took effect, echoed in `Preference-Applied`. */
  applied: string[];
}

const KNOWN: Record<string, readonly string[]> = {
  return: ['minimal', 'representation', 'headers-only'],
  count: ['exact', 'planned', 'estimated'],
  resolution: ['merge-duplicates', 'ignore-duplicates'],
  missing: ['default', 'null'],
  tx: ['commit', 'rollback'],
};

export function parsePreferences(req: IncomingMessage): Preferences {
  const prefs: Preferences = { applied: [] };
  const raw = req.headers.prefer;
  const values = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((v) => v.split(','));
  for (const value of values) {
    const [name, setting] = value.trim().split('=').map((s) => s.trim()) as [string, string | undefined];
    if (setting !== undefined && KNOWN[name]?.includes(setting)) {
      (prefs as unknown as Record<string, string>)[name] = setting;
      prefs.applied.push(`${name}=${setting}`);
    }
  }
  return prefs;
}

export type ResponseShape = 'array' | 'object';

export interface AcceptedMedia {
  shape: ResponseShape;
  stripNulls: boolean;
}

/**
 * JSON arrays by default; `application/vnd.pgrst.object+json` (what `single()` sends) asks
 * for exactly one row as an object; `nulls=stripped` drops null fields. Anything else PostgREST
 * cannot produce here is 406 PGRST107.
 */
export function acceptedMedia(req: IncomingMessage): AcceptedMedia {
  const header = req.headers.accept;
  if (!header) return { shape: 'array', stripNulls: false };
  const offered: string[] = [];
  for (const part of header.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!type) continue;
    offered.push(type);
    const stripNulls = params.includes('nulls=stripped');
    if (type === 'application/vnd.pgrst.object+json' || type === 'application/vnd.pgrst.object') {
      return { shape: 'object', stripNulls };
    }
    if (
      type === 'application/json' ||
      type === 'application/vnd.pgrst.array+json' ||
      type === 'application/*' ||
      type === '*/*' ||
      type === 'application/openapi+json'
    ) {
      return { shape: 'array', stripNulls };
    }
  }
  throw new PostgrestError(406, 'PGRST107', `None of these media types are available: ${offered.join(', ')}`);
}
