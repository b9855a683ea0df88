import { redirect } from 'next/navigation';
import { roleOf } from '@/lib/auth/roles';
import { createClient } from '@/lib/supabase/server';

export default async function HomePage() {
  const supabase = await createClient();
  const {
    data: { user },
  } = await supabase.auth.getUser();
  if (!user) redirect('/sign-in');
  const role = roleOf(user);
  // End users work on their jobs; staff land here until the admin console exists.
  if (role === 'user') redirect('/jobs');
  return (
    <main className="page">
      <h1>Job Health</h1>
      <p>
        Signed in as <strong>{user.email}</strong> ({role}). <a href="/jobs">Your jobs</a>
      </p>
      <form action="/auth/sign-out" method="post">
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
