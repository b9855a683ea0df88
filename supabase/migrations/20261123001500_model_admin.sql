-- Model registry operations.
--
-- disable_model(p_model_id text, p_reason text) returns jsonb   (admin, service_role)
-- Disables the model (create_job refuses it, claim_jobs skips it) and fails-and-refunds its
-- queued jobs in the same transaction, so nobody waits on a model that will never run. The
-- worker calls it when the provider answers 404 for the model id. Returns
-- {"model_id", "failed_jobs", "refunded_credits"}. Errors: 42501, 22023 reason, PT404 no model.
create function public.disable_model(p_model_id text, p_reason text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin', 'service_role'], 'disable_model');
  v_reason text := private.check_reason(p_reason);
  v_job public.jobs;
  v_ids uuid[] := '{}';
  v_refunded bigint := 0;
begin
  perform private.set_actor(v_role, v_reason);
  update public.models set enabled = false, disabled_reason = v_reason, updated_at = now() where id = p_model_id;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  for v_job in
    select * from public.jobs where model_id = p_model_id and status = 'queued' order by id for update
  loop
    update public.jobs
       set status = 'failed', error_class = 'model_disabled', error_message = v_reason,
           finished_at = now(), stage = 'failed', updated_at = now()
     where id = v_job.id returning * into v_job;
    v_refunded := v_refunded + private.refund_job(v_job, 'disable_model: ' || v_reason);
    v_ids := v_ids || v_job.id;
  end loop;
  perform private.write_audit('disable_model', v_ids, v_reason, null, null, v_refunded, null,
                              jsonb_build_object('model_id', p_model_id, 'failed_jobs', cardinality(v_ids)));
  return jsonb_build_object('model_id', p_model_id, 'failed_jobs', cardinality(v_ids), 'refunded_credits', v_refunded);
end;
$$;

-- set_model_paused(p_model_id text, p_paused boolean, p_reason text) returns public.models   (admin)
-- A paused model keeps accepting jobs, which wait queued until it is resumed.
create function public.set_model_paused(p_model_id text, p_paused boolean, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'set_model_paused');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  if p_paused is null then
    raise exception 'paused must be true or false' using errcode = '22023';
  end if;
  update public.models set paused = p_paused, updated_at = now() where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  perform private.write_audit(case when p_paused then 'pause_model' else 'resume_model' end, '{}', v_reason,
                              null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  return v_model;
end;
$$;

-- set_model_verification(p_model_id text, p_state text, p_detail text default null)
--   returns public.models   (service_role: the worker, after checking the id with the provider)
create function public.set_model_verification(p_model_id text, p_state text, p_detail text default null)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_model public.models;
begin
  perform private.require_role(array['service_role'], 'set_model_verification');
  if p_state is null or p_state not in ('unverified', 'verified', 'failed') then
    raise exception 'state must be one of unverified, verified, failed' using errcode = '22023';
  end if;
  update public.models
     set verification_state = p_state, verification_detail = left(p_detail, 1000), verified_at = now(), updated_at = now()
   where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  return v_model;
end;
$$;

revoke all on function public.disable_model(text, text) from public, anon;
revoke all on function public.set_model_paused(text, boolean, text) from public, anon, service_role;
revoke all on function public.set_model_verification(text, text, text) from public, anon, authenticated;
grant execute on function public.disable_model(text, text) to authenticated, service_role;
grant execute on function public.set_model_paused(text, boolean, text) to authenticated;
grant execute on function public.set_model_verification(text, text, text) to service_role;
