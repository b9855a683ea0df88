-- Live updates, and who may receive them. The messages themselves are written by the jobs
-- triggers and complete_job (20261123000300_job_state_machine.sql) and by the credits ledger
-- (20261123000400_credits_and_refunds.sql); this migration says where they go and who may join.
--
-- 'user:<user_id>:jobs' (private; only that user joins, nobody sends): the end-user pages' feed.
--   event 'job_changed': one message per inserted or changed job of the user, heartbeats
--     included, payload {id, status, old_status, stage, progress, attempt, error_class,
--     result ({bucket, path, width, height, thumbnail_path, thumbnail_width, thumbnail_height}
--     or null), refunded (credits returned for the current
--     charge, 0 if none), updated_at}: what the pages show, and no prompt, model, lease token,
--     worker id or user id.
--   event 'credits_changed': a grant or adjustment moved the balance; payload {balance}.
-- Broadcast from Database rather than postgres_changes on jobs: hosted Realtime authorises every
-- change once per subscriber on one thread (about 30-40 changes/s, Supabase's figure), while a
-- broadcast is authorised once, at join, and costs one row per change whoever watches.
-- public.jobs stays in the publication: postgres_changes still works for anyone's own client
-- (RLS on jobs limits each user to their own rows), but the app does not depend on it.
--
-- 'admin:jobs', event 'job_changed' (private; support and admin join, nobody sends): one message
-- per inserted or changed job, heartbeats included so progress moves, with payload {id, user_id,
-- model_id, status, old_status, attempt, progress, stage, error_class, updated_at} and no prompt.
-- Broadcast from Database rather than postgres_changes, because the System Health screen watches
-- every job and per-subscriber postgres_changes authorisation tops out around 30-40 changes/s.
--
-- 'queue:<model_id>', event 'queue_moved' (private; any signed-in user joins, nobody sends): an
-- end user's postgres_changes subscription sees only their own rows, but their place in the queue
-- moves when *other users'* jobs leave it. So every statement that takes queued jobs out of the
-- queue (a claim, a cancel, a fail-and-refund) sends one message per model it touched, payload
-- {"model_id"} and nothing else; a waiting job page listens on its model's topic and asks
-- job_queue_position again (throttled to about once a second). Why this is safe to show every
-- signed-in user:
--   * the payload carries no job id, user id, prompt or count: only the model id, which every
--     signed-in user already reads from public.models; what a listener learns is "some job of
--     this model left the queue just now", the same thing their own position falling tells them;
--   * the topic is private: joining needs a signed-in user's JWT (the policy below), so the
--     anon key alone, which ships in every browser bundle, cannot watch the service's throughput;
--   * nobody can send on it: there is no insert policy on realtime.messages for these topics, so
--     a client cannot fake a signal to make other pages refetch;
--   * the numbers themselves come from job_queue_position, which answers only the job's owner
--     (and staff), and gives counts, never other users' rows.
-- Volume: one message per model per claim statement, not per job (a claim of 50 jobs sends one),
-- next to the admin topic's one message per changed job.
alter publication supabase_realtime add table public.jobs;

-- Joining a private topic is a select on realtime.messages evaluated as the joining user with
-- realtime.topic() set.
create policy admin_jobs_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() = 'admin:jobs' and (select public.app_role()) in ('support', 'admin'));
create policy queue_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() like 'queue:%' and (select public.app_role()) in ('user', 'support', 'admin'));
-- The topic name is compared whole, so no user id is a prefix of another's topic; staff get no
-- exception here (the console reads admin:jobs).
create policy user_jobs_topic_read on realtime.messages for select to authenticated
  using (realtime.topic() = 'user:' || (select auth.uid()) || ':jobs');
