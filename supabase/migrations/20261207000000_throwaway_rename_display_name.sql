-- Throwaway: shows that renaming a column the app reads fails the type check. Reverted in the
-- next commit.
alter table public.models rename column display_name to label;
