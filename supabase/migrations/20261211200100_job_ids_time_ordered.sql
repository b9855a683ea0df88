-- The database's life over a year, part five: job ids ordered by time.
--
-- A job's id was random (gen_random_uuid, version 4), so each new job's key, and each of its
-- timeline rows' keys (job_events' primary key begins with job_id), landed on a random page of
-- an index that grows with every job and is never pruned (jobs are kept: the gallery, the
-- ledger). Once those indexes outgrow the buffer cache (at about 2 million jobs: jobs_pkey 80 MB
-- and job_events_pkey 316 MB against 128 MB of shared_buffers, the growth benchmark), almost
-- every job read a page from outside the cache at its creation, its claim and its completion:
-- claim + complete ran at 0.66 of an empty database's rate, at 1.5 times its CPU per job.
--
-- New ids are UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random
-- bits. New keys arrive at the right-hand edge of each index, whose pages stay in the cache
-- however long the history. The ids are as unguessable as before for anyone without the row
-- (74 random bits; RLS decides who reads a job anyway) and keep the uuid type, so no column,
-- function or client changes. Existing ids stay as they are. Postgres 18 has uuidv7(); hosted
-- projects run 17, hence this function.
set local lock_timeout = '5s';

-- private.uuid_v7() returns uuid
-- gen_random_uuid()'s 16 random bytes (a version 4 UUID) with the first six replaced by the
-- millisecond clock, and the version nibble turned from 4 (0100) into 7 (0111) by setting its
-- two low bits (bits 52 and 53, counted from the first byte's least significant bit). The
-- variant bits stay 10. Volatile: each call a new id, clock_timestamp() not the transaction's.
create function private.uuid_v7() returns uuid
language sql
volatile
parallel safe
as $$
  select encode(
    set_bit(set_bit(overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
                            placing substring(pg_catalog.int8send((extract(epoch from pg_catalog.clock_timestamp()) * 1000)::bigint) from 3)
                            from 1 for 6), 52, 1), 53, 1),
    'hex')::uuid
$$;
revoke all on function private.uuid_v7() from public, anon, authenticated, service_role;

alter table public.jobs alter column id set default private.uuid_v7();
