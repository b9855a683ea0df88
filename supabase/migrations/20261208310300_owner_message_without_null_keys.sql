-- The owner's job_changed message without its null keys, as admin:jobs' since
-- 20261208260100_job_cost_message_payloads.sql: every message is a row of realtime.messages, and
-- a key sent as null costs the row its name and value for nothing (the app reads a missing key
-- as null, and a missing "refunded" as 0: lib/jobs/user-job-change.ts). The result stays the
-- stored result as it is (20261208310200_job_result_shape.sql), left out when there is none.
set local lock_timeout = '5s';

-- {id, status, old_status, stage, progress, attempt, error_class, result, refunded, updated_at},
-- each key present only when its value is not null, and refunded only when the ledger returned
-- credits for the job's current charge. JSON_OBJECT with ABSENT ON NULL builds it in one pass
-- (docs/benchmarks.md, Schema costs). Inlined into the statements that use it.
create or replace function private.user_job_changed_payload(
  p_id uuid, p_status text, p_old_status text, p_stage text, p_progress smallint, p_attempt integer,
  p_error_class text, p_result jsonb, p_refunded bigint, p_updated_at timestamptz
) returns jsonb
language sql stable
as $$
  select json_object('id': p_id, 'status': p_status, 'old_status': p_old_status, 'stage': p_stage, 'progress': p_progress,
    'attempt': p_attempt, 'error_class': p_error_class, 'result': p_result,
    'refunded': nullif(p_refunded, 0), 'updated_at': p_updated_at absent on null returning jsonb)
$$;
