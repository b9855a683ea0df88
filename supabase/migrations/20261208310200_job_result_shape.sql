-- A job's result has one shape, held by the database: where the worker stored the image
-- (bucket, path), its real content type and size, every image when a call returned several, and
-- the gallery thumbnail. supabase/functions/_shared/job-result.ts is the same shape for TypeScript (the worker
-- writes it, the app parses it); supabase/tests/job-result-shape.test.ts holds the two together.
-- The owner's Realtime message carried a hand-picked copy of the keys, without the content type,
-- the size or the other images: it now carries the stored result as it is.

set local lock_timeout = '5s';

-- Whether p_result is a job result: null (no image yet, or erased), or an object with exactly
-- these keys, each of its type. Fields a result from before they were recorded lacks
-- (mimeType, bytes, the thumbnail's) may be absent; none may be of another type.
create function private.is_job_result(p_result jsonb) returns boolean
language plpgsql immutable
as $$
declare
  v_image jsonb;
begin
  if p_result is null then
    return true;
  end if;
  if jsonb_typeof(p_result) <> 'object'
     or jsonb_typeof(p_result -> 'bucket') is distinct from 'string'
     or jsonb_typeof(p_result -> 'path') is distinct from 'string'
     or coalesce(jsonb_typeof(p_result -> 'mimeType'), 'string') <> 'string'
     or coalesce(jsonb_typeof(p_result -> 'bytes'), 'number') <> 'number'
     or coalesce(jsonb_typeof(p_result -> 'width'), 'null') not in ('number', 'null')
     or coalesce(jsonb_typeof(p_result -> 'height'), 'null') not in ('number', 'null')
     or coalesce(jsonb_typeof(p_result -> 'thumbnail_path'), 'null') not in ('string', 'null')
     or coalesce(jsonb_typeof(p_result -> 'thumbnail_width'), 'null') not in ('number', 'null')
     or coalesce(jsonb_typeof(p_result -> 'thumbnail_height'), 'null') not in ('number', 'null')
     or coalesce(jsonb_typeof(p_result -> 'images'), 'array') <> 'array'
     or exists (select 1 from jsonb_object_keys(p_result) k
                 where k not in ('bucket', 'path', 'mimeType', 'bytes', 'width', 'height', 'images',
                                 'thumbnail_path', 'thumbnail_width', 'thumbnail_height')) then
    return false;
  end if;
  for v_image in select value from jsonb_array_elements(coalesce(p_result -> 'images', '[]'::jsonb)) loop
    if jsonb_typeof(v_image) <> 'object'
       or jsonb_typeof(v_image -> 'path') is distinct from 'string'
       or jsonb_typeof(v_image -> 'mimeType') is distinct from 'string'
       or jsonb_typeof(v_image -> 'bytes') is distinct from 'number'
       or coalesce(jsonb_typeof(v_image -> 'width'), 'null') not in ('number', 'null')
       or coalesce(jsonb_typeof(v_image -> 'height'), 'null') not in ('number', 'null')
       or exists (select 1 from jsonb_object_keys(v_image) k where k not in ('path', 'mimeType', 'bytes', 'width', 'height')) then
      return false;
    end if;
  end loop;
  return true;
end;
$$;

-- NOT VALID: every write from now on is checked (complete_job's among them) without a scan of
-- every existing job under an exclusive lock; the worker has written this shape all along.
alter table public.jobs add constraint jobs_result_shape check (private.is_job_result(result)) not valid;

-- The owner's message: the stored result as it is, shape held by jobs_result_shape. Only the
-- result's part changes from the first definition (20261123000300_job_state_machine.sql).
create or replace function private.user_job_changed_payload(
  p_id uuid, p_status text, p_old_status text, p_stage text, p_progress smallint, p_attempt integer,
  p_error_class text, p_result jsonb, p_refunded bigint, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select jsonb_build_object(
    'id', p_id, 'status', p_status, 'old_status', p_old_status, 'stage', p_stage, 'progress', p_progress,
    'attempt', p_attempt, 'error_class', p_error_class, 'result', p_result,
    'refunded', p_refunded, 'updated_at', p_updated_at)
$$;
