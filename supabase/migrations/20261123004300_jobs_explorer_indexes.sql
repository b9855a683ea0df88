-- The admin job explorer lists jobs newest first, a page at a time. Over a million jobs, without
-- this the first page is a sort of the whole table (the only created_at index leads with
-- user_id); with it the unfiltered page is an index-only scan that stops after one page
-- (0.1 ms against 1,000,000 jobs), and status / model / error-class filters run along the same
-- scan (failed: 0.3 ms). A (status, created_at) index was measured too and left out: every job
-- transition is a non-HOT update that inserts into every index on jobs, and each extra index cost
-- the claim/complete loop roughly a fifth of its throughput in a quick run on this machine.
create index jobs_created_idx on public.jobs (created_at desc, id desc);
