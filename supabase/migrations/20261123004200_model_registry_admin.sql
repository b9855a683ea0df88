-- The model registry page's remaining operations (disable_model and set_model_paused exist).
--
-- enable_model(p_model_id text, p_reason text) returns public.models   (admin)
-- Turns a disabled model back on and clears disabled_reason. Jobs it failed while disabled stay
-- failed (they were refunded; an admin can retry them). The model is marked unverified, so the
-- worker checks the id with the provider again before trusting it: it was most likely disabled
-- because the provider did not know it.
--
-- request_model_verification(p_model_id text, p_reason text) returns public.models   (admin)
-- "Verify now": marks the model unverified and wakes the worker (NOTIFY job_dispatch), whose
-- verification path (models.get) checks every enabled, unverified model and records the answer
-- with set_model_verification; a 404 disables the model as at cold start. Errors for both:
-- 42501 not admin; 22023 reason missing or too long; PT404 no such model; 22023 verifying a
-- disabled model (enable it first: the worker checks enabled models only).
create function public.enable_model(p_model_id text, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'enable_model');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  perform private.set_actor(v_role, v_reason);
  update public.models
     set enabled = true, disabled_reason = null, verification_state = 'unverified',
         verification_detail = 'enabled again: waiting for the worker to verify it', updated_at = now()
   where id = p_model_id returning * into v_model;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  perform private.write_audit('enable_model', '{}', v_reason, null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  perform pg_notify('job_dispatch', '');
  return v_model;
end;
$$;

create function public.request_model_verification(p_model_id text, p_reason text)
returns public.models
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text := private.require_role(array['admin'], 'request_model_verification');
  v_reason text := private.check_reason(p_reason);
  v_model public.models;
begin
  select * into v_model from public.models where id = p_model_id for update;
  if not found then
    raise exception 'model not found' using errcode = 'PT404';
  end if;
  if not v_model.enabled then
    raise exception 'model "%" is disabled: enable it first', p_model_id using errcode = '22023';
  end if;
  perform private.set_actor(v_role, v_reason);
  update public.models
     set verification_state = 'unverified', verification_detail = 'verification requested', updated_at = now()
   where id = p_model_id returning * into v_model;
  perform private.write_audit('verify_model', '{}', v_reason, null, null, 0, null, jsonb_build_object('model_id', p_model_id));
  perform pg_notify('job_dispatch', '');
  return v_model;
end;
$$;

revoke all on function public.enable_model(text, text) from public, anon, service_role;
revoke all on function public.request_model_verification(text, text) from public, anon, service_role;
grant execute on function public.enable_model(text, text) to authenticated;
grant execute on function public.request_model_verification(text, text) to authenticated;
