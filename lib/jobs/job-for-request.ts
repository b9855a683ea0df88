import 'server-only';
import { cache } from 'react';
import { createClient } from '@/lib/supabase/server';
import { fetchJob } from './job-query';

/**
 * The job as the signed-in user sees it, fetched once per request however many server
 * components ask (the layout checks access, the page hydrates it).
 */
export const getJobForRequest = cache(async (jobId: string) => fetchJob(await createClient(), jobId));
