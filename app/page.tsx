import { redirect } from 'next/navigation';
import { getCurrentUser } from '@/lib/auth/current-user';
import { homeFor, roleOf } from '@/lib/auth/roles';

/** No page of its own: everyone goes to their role's home (end users their jobs, staff the console). */
export default async function HomePage() {
  const role = roleOf(await getCurrentUser());
  if (!role) redirect('/sign-in');
  redirect(homeFor(role));
}
