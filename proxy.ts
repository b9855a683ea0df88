import type { NextRequest } from 'next/server';
import { updateSession } from '@/lib/supabase/proxy';

export async function proxy(request: NextRequest) {
  return updateSession(request);
}

export const config = {
  // Pages only: static assets and images never carry work for the session. The gallery's
  // thumbnail route reads (and refreshes) the session itself, once, as a route handler may set
  // cookies: a page of new images is two dozen requests at once.
  matcher: ['/((?!_next/static|_next/image|favicon.ico|jobs/[^/]+/thumbnail$|.*\\.(?:svg|png|jpg|jpeg|gif|webp)$).*)'],
};
