import 'server-only';
import { cache } from 'react';
import { createClient } from '@/lib/supabase/server';
import { fetchAdminJob } from './admin-job-query';

/** The job as staff see it, fetched once per request however many server components ask. */
export const getAdminJobForRequest = cache(async (jobId: string) => fetchAdminJob(await createClient(), jobId));
