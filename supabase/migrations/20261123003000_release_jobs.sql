-- release_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_delay_seconds numeric default 0,
--              p_reason text default 'released') returns jsonb   (service_role only)
-- Hands claimed jobs back to the queue without counting the attempt against them: a worker
-- shutting down (the edge runtime's beforeunload), or one that found no rate budget for the
-- model before the job's attempt could start, did not fail the job, so it must not move the job
-- closer to its final failure. Pairs (job id, lease token) are fenced exactly like complete_job:
-- a pair whose lease already moved on changes nothing. The deadline still bounds how often a job
-- can come back (the reaper fails it once deadline_at passes), so releases cannot loop forever.
-- Calls made in a released attempt keep its number in provider_calls; the next claim reuses it.
-- Returns {"released": n, "fenced": m}.
-- Errors: 42501 not service_role; 22023 arrays of different length, over 500 pairs, bad delay.
create function public.release_jobs(
  p_job_ids uuid[], p_lease_tokens uuid[], p_delay_seconds numeric default 0, p_reason text default 'released'
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_released integer;
begin
  perform private.require_role(array['service_role'], 'release_jobs');
  if p_job_ids is null or p_lease_tokens is null or cardinality(p_job_ids) <> cardinality(p_lease_tokens) then
    raise exception 'job ids and lease tokens must be arrays of the same length' using errcode = '22023';
  end if;
  if cardinality(p_job_ids) > 500 then
    raise exception 'too many jobs: %, the limit is 500 per call', cardinality(p_job_ids) using errcode = '22023';
  end if;
  if p_delay_seconds is null or p_delay_seconds < 0 or p_delay_seconds > 3600 then
    raise exception 'delay must be between 0 and 3600 seconds' using errcode = '22023';
  end if;
  if cardinality(p_job_ids) = 0 then
    return jsonb_build_object('released', 0, 'fenced', 0);
  end if;
  perform private.set_actor('worker', left(coalesce(nullif(btrim(p_reason), ''), 'released'), 200));

  with pairs as (
    select t.id, t.token from unnest(p_job_ids, p_lease_tokens) as t (id, token)
  )
  update public.jobs j
     set status = 'queued',
         -- claim_jobs added one; this attempt never reached an outcome of its own.
         attempt = greatest(j.attempt - 1, 0),
         run_at = now() + make_interval(secs => p_delay_seconds),
         lease_token = null, lease_expires_at = null, worker_id = null,
         stage = 'released', updated_at = now()
    from pairs
   where j.id = pairs.id and j.status = 'running' and j.lease_token = pairs.token;
  get diagnostics v_released = row_count;
  return jsonb_build_object('released', v_released, 'fenced', cardinality(p_job_ids) - v_released);
end;
$$;
revoke all on function public.release_jobs(uuid[], uuid[], numeric, text) from public, anon, authenticated;
grant execute on function public.release_jobs(uuid[], uuid[], numeric, text) to service_role;
