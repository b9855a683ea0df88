-- Local data only (never pushed to a hosted project). The demo accounts all sign in with the
-- password "jobhealth-demo"; the role an account acts as is server-set app_metadata, which a
-- user can never change, unlike user_metadata.
insert into auth.users (id, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
values
  ('00000000-0000-4000-8000-00000000a001', 'admin@example.com',
   extensions.crypt('jobhealth-demo', extensions.gen_salt('bf', 10)), now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{"name": "Ada Admin"}'),
  ('00000000-0000-4000-8000-00000000a002', 'support@example.com',
   extensions.crypt('jobhealth-demo', extensions.gen_salt('bf', 10)), now(),
   '{"provider": "email", "providers": ["email"], "role": "support"}', '{"name": "Sam Support"}'),
  ('00000000-0000-4000-8000-00000000a003', 'alice@example.com',
   extensions.crypt('jobhealth-demo', extensions.gen_salt('bf', 10)), now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Alice"}'),
  ('00000000-0000-4000-8000-00000000a004', 'bob@example.com',
   extensions.crypt('jobhealth-demo', extensions.gen_salt('bf', 10)), now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Bob"}')
on conflict (id) do nothing;

-- Models for local use. Credits per job and prices are this project's own demo numbers.
insert into public.models (id, display_name, credits_per_job, price_usd_per_call, rate_per_minute, max_attempts,
                           deadline_seconds, verification_state)
values
  ('gemini-2.5-flash-image', 'Gemini 2.5 Flash Image', 1, 0.039, 500, 3, 1800, 'unverified'),
  ('gemini-3-pro-image-preview', 'Gemini 3 Pro Image (preview)', 4, 0.134, 100, 3, 1800, 'unverified')
on conflict (id) do nothing;

-- Starting credits go through the ledger like every other credit, so balance = sum(ledger).
insert into public.credit_ledger (user_id, delta, reason, actor_role, note)
values
  ('00000000-0000-4000-8000-00000000a003', 100, 'grant', 'database', 'demo starting credits'),
  ('00000000-0000-4000-8000-00000000a004', 20, 'grant', 'database', 'demo starting credits');
