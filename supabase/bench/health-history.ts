import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { DEMO_USERS } from '../../testkit/demo-users.ts';

/**
 * A day of history at production scale, for benchmarks that read it (job_health in `queue`,
 * System Health in `ui`; `days` longer for `growth`): `jobs` jobs spread over the last `days`
 * days, 24 hours by default (the newest 200 queued,
 * the 40 before them running, 1 in 20 failed, the rest succeeded; 1 in 5 on the pro model)
 * with their timeline events, and `calls` provider calls (1 in 20 a 503, 1 in 100 a 90 s
 * outlier), then rolled up as the scheduler would.
 */
export async function generateHealthHistory(
  client: pg.PoolClient | pg.Client,
  { jobs, calls, days = 1 }: { jobs: number; calls: number; days?: number },
) {
  const span = `${days * 24} hours`;
  const started = performance.now();
  // History is generated directly, without triggers (no broadcasts, no per-row checks): this
  // measures reading it, not writing it.
  await client.query(`set session_replication_role = replica`);
  await client.query(
    `insert into public.jobs (id, user_id, model_id, prompt, status, attempt, max_attempts, credits_cost,
                              deadline_at, created_at, updated_at, attempted_at, finished_at, run_at,
                              lease_token, lease_expires_at, worker_id, error_class)
     select extensions.gen_random_uuid(), case when g % 2 = 0 then $1::uuid else $2::uuid end,
            case when g % 5 = 0 then 'gemini-3-pro-image-preview' else 'gemini-2.5-flash-image' end,
            'history', s.status, 1, 3, 1, t + interval '30 minutes', t, t + interval '20 seconds',
            t + interval '2 seconds', case when s.status in ('succeeded', 'failed') then t + interval '20 seconds' end, t,
            case when s.status = 'running' then extensions.gen_random_uuid() end,
            case when s.status = 'running' then now() + interval '1 minute' end,
            case when s.status = 'running' then 'w' || (g % 4) end,
            case when s.status = 'failed' then 'server_error' end
       from generate_series(1, $3::integer) g
      cross join lateral (select now() - $4::interval + ($4::interval - interval '1 minute') * (g::double precision / $3::integer) as t) tt
      cross join lateral (select case when g > $3::integer - 200 then 'queued'
                                      when g > $3::integer - 240 then 'running'
                                      when g % 20 = 0 then 'failed' else 'succeeded' end as status) s`,
    [DEMO_USERS.alice.id, DEMO_USERS.bob.id, jobs, span],
  );
  await client.query(
    `insert into public.job_events (job_id, user_id, model_id, at, from_status, to_status, attempt, actor_role)
     select j.id, j.user_id, j.model_id, e.at, e.from_status, e.to_status, e.attempt, e.actor
       from public.jobs j
      cross join lateral (values
        (j.created_at, null, 'queued', 0, 'user'),
        (j.attempted_at, 'queued', 'running', 1, 'worker'),
        (j.finished_at, 'running', j.status, 1, 'worker')) e(at, from_status, to_status, attempt, actor)
      where e.at is not null and (e.to_status <> 'running' or j.status <> 'queued')
        and (e.from_status is distinct from 'running' or j.status in ('succeeded', 'failed'))
      order by e.at`,
  );
  await client.query(
    `insert into public.provider_calls (job_id, user_id, attempt, model_id, worker_id, started_at, duration_ms,
                                        http_status, outcome, cost_usd, recorded_at)
     select null, null, 1, case when g % 5 = 0 then 'gemini-3-pro-image-preview' else 'gemini-2.5-flash-image' end,
            'w' || (g % 4), t - make_interval(secs => d / 1000.0), d,
            case when g % 20 = 0 then 503 else 200 end, case when g % 20 = 0 then 'server_error' else 'ok' end,
            0.039, t
       from generate_series(1, $1::integer) g
      cross join lateral (select now() - $2::interval + ($2::interval - interval '1 minute') * (g::double precision / $1::integer) as t,
                                 (2000 + 18000 * random() * random() + case when g % 100 = 0 then 90000 else 0 end)::integer as d) x`,
    [calls, span],
  );
  await client.query(`set session_replication_role = origin`);
  await client.query('vacuum analyze public.jobs, public.job_events, public.provider_calls');
  const generateSeconds = (performance.now() - started) / 1000;

  const rollupStarted = performance.now();
  const rollup = await client.query<{ r: { minutes: number } }>('select public.rollup_metrics() as r');
  const rollupSeconds = (performance.now() - rollupStarted) / 1000;
  await client.query('analyze public.metrics_job_minute, public.metrics_provider_minute');

  return {
    generate_seconds: Math.round(generateSeconds * 10) / 10,
    rollup_seconds: Math.round(rollupSeconds * 10) / 10,
    rollup_minutes: rollup.rows[0]!.r.minutes,
  };
}
