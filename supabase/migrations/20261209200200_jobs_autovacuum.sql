-- The jobs table is vacuumed after a fixed number of dead row versions instead of a fifth of the
-- table. jobs is the queue and, kept for good, the gallery and the accounting record, so it only
-- grows; with Postgres' default (a vacuum once dead versions pass 20% of the rows) a table of two
-- million jobs waits for 400,000 of them, and a year's worth for tens of millions. Each claim and
-- completion leaves dead versions whose entries stay in the queue's partial indexes (queued,
-- running) until a vacuum, and the claim, the reaper and System Health read those indexes.
-- System Health reads the running ones through a bitmap scan, which unlike a plain index scan
-- never marks dead entries, so every call walks all of them. Measured on a 60-day history of
-- 2,000,000 jobs with 54,000 dead versions (left by the growth benchmark's 30,000 claims): the
-- running index returned 27,290 entries for 40 running jobs (1,127 pages), and a VACUUM of jobs
-- took job_health's backend CPU per call from 10 to 7 ms (7 days), 18 to 15 ms (24 hours) and
-- 19 to 16.5 ms (90 days). Claim and complete cost the same either way within what the machine
-- let us see (docs/benchmarks.md, Growth).
-- 10,000 versions are about 3,000 jobs (a claim, a completion, heartbeats): a vacuum every few
-- minutes at a million jobs a day. Each visits only the pages changed since the last (the rest
-- are all-visible), and skips the index pass while few pages hold dead items, so it stays small
-- however long the history grows.
-- Storage parameters only (SHARE UPDATE EXCLUSIVE: claims and inserts go on); bounded anyway.
set local lock_timeout = '5s';

alter table public.jobs set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
