-- The jobs the reaper rescued, found without reading the timeline. The alert rule
-- "jobs rescued by the reaper" asks every minute how many jobs the reaper requeued or failed in
-- its window; the timeline's BRIN index would make that a read of every event in the window
-- (all of the pipeline's traffic), where the reaper's own events are a handful. A partial
-- index holds only those: each new event pays one comparison of its actor_role, and an index
-- insert only when the reaper wrote it.
create index job_events_reaper_at_idx on public.job_events (at) where actor_role = 'reaper';
