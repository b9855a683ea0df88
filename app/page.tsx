import { redirect } from 'next/navigation';
import { homeFor, roleOf } from '@/lib/auth/roles';
import { createClient } from '@/lib/supabase/server';

/** No page of its own: everyone goes to their role's home (end users their jobs, staff the console). */
export default async function HomePage() {
  const supabase = await createClient();
  const {
    data: { user },
  } = await supabase.auth.getUser();
  const role = roleOf(user);
  if (!role) redirect('/sign-in');
  redirect(homeFor(role));
}
