-- Generated images live in Storage bucket `results`, one object per job at
-- <user_id>/<job_id>.png with its gallery thumbnail beside it at <user_id>/<job_id>.thumb.jpg
-- (the job's result names bucket, path and thumbnail_path). The bucket is private: the worker
-- writes with the service role (which bypasses RLS), and readers go through this policy, which
-- covers a thumbnail exactly as its result (same folder). PNG and JPEG only (Gemini returns
-- either; thumbnails are JPEG) and 20 MB per object: the largest image Gemini returns (4K) is
-- well under that, and a worker bug cannot fill the bucket with anything else.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('results', 'results', false, 20 * 1024 * 1024, array['image/png', 'image/jpeg'])
on conflict (id) do nothing;

-- Users read their own results only: the first folder of the path is the owner's id. Support and
-- admin read all (the job detail page shows the image). Nobody but the worker writes.
create policy results_read on storage.objects for select to authenticated
  using (
    bucket_id = 'results'
    and (
      (storage.foldername(name))[1] = (select auth.uid())::text and (select public.app_role()) = 'user'
      or (select public.app_role()) in ('support', 'admin')
    )
  );
