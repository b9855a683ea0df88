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
