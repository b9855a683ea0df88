import { z } from 'zod';
import { JOB_STATUSES } from '@/lib/jobs/job-schema';

export const EXPLORER_PAGE_SIZE = 50;
/** A prompt search without a start time looks back this far: an ilike over every job ever made is a full scan. */
export const PROMPT_SEARCH_DEFAULT_DAYS = 7;

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v ? v : undefined));
const optionalDate = z
  .string()
  .optional()
  .transform((v) => (v && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined));

/**
 * The explorer's filters, read from and written to the URL: a filtered view is a link that can
 * be shared, and the back button steps through earlier filters. Anything malformed in a URL is
 * dropped rather than failing the page.
 */
export const explorerFiltersSchema = z.object({
  status: z.array(z.enum(JOB_STATUSES)).default([]),
  model: optionalText(100),
  user: z
    .string()
    .optional()
    .transform((v) => (v && z.uuid().safeParse(v).success ? v : undefined)),
  from: optionalDate,
  to: optionalDate,
  error: optionalText(100),
  q: optionalText(200),
  page: z.coerce.number().int().min(1).max(10_000).catch(1).default(1),
});

export type ExplorerFilters = z.infer<typeof explorerFiltersSchema>;

type Params = URLSearchParams | Record<string, string | string[] | undefined>;

export function parseExplorerFilters(params: Params): ExplorerFilters {
  const get = (key: string): string[] => {
    if (params instanceof URLSearchParams) return params.getAll(key);
    const value = params[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const statuses = get('status')
    .flatMap((s) => s.split(','))
    .filter((s): s is (typeof JOB_STATUSES)[number] => (JOB_STATUSES as readonly string[]).includes(s));
  const parsed = explorerFiltersSchema.safeParse({
    status: [...new Set(statuses)],
    model: get('model')[0],
    user: get('user')[0],
    from: get('from')[0],
    to: get('to')[0],
    error: get('error')[0],
    q: get('q')[0],
    page: get('page')[0],
  });
  return parsed.success ? parsed.data : explorerFiltersSchema.parse({});
}

/** The URL query for filters (empty values left out, page 1 implied), stable in key order. */
export function explorerSearchParams(filters: ExplorerFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.status.length) params.set('status', filters.status.join(','));
  for (const key of ['model', 'user', 'from', 'to', 'error', 'q'] as const) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  if (filters.page > 1) params.set('page', String(filters.page));
  return params;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A search term is either a job id (exact match) or text to find in prompts. */
export function searchKind(q: string): 'id' | 'prompt' {
  return UUID.test(q) ? 'id' : 'prompt';
}

/** Escapes LIKE wildcards so typed % and _ match themselves. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
