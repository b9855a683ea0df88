import { redirect } from 'next/navigation';
import { roleOf } from '@/lib/auth/roles';
import { createClient } from '@/lib/supabase/server';

export default async function HomePage() {
  const supabase = await createClient();
  const {
    data: { user },
  } = await supabase.auth.getUser();
  if (!user) redirect('/sign-in');
  return (
    <main>
      <h1>Job Health</h1>
      <p>
        Signed in as <strong>{user.email}</strong> ({roleOf(user)}).
      </p>
      <form action="/auth/sign-out" method="post">
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
