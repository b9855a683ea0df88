import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { Database } from '../../lib/supabase/database.ts';
import { DEMO_PASSWORD, DEMO_USERS, type Persona } from '../demo-users.ts';
import type { TestStack } from './stack.ts';

/**
 * The schema of suites that test the platform itself on tables of their own (fixture SQL, not the
 * migrations): not the app's, so their clients are untyped (`createTestClient<FixtureSchema>`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- supabase-js's own default for a schema it does not know
export type FixtureSchema = any;

/**
 * The official client as an app would create it. Node 20 has no global WebSocket, so
 * realtime-js is handed `ws`, the one difference from a browser. `accessToken` gives the client
 * a user's token without signing in (supabase-js's option for tokens it did not issue): Realtime
 * asks it again on every (re)connect, where a token handed to `realtime.setAuth()` alone would
 * be replaced by the API key.
 */
export function createTestClient<Schema = Database>(
  stack: Pick<TestStack, 'apiUrl'>,
  key: string,
  options: { accessToken?: () => Promise<string>; headers?: Record<string, string> } = {},
): SupabaseClient<Schema> {
  return createClient<Schema>(stack.apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    ...(options.headers ? { global: { headers: options.headers } } : {}),
  });
}

/**
 * A client with the publishable key, signed in as a demo account through Auth's password grant,
 * and the user's access token: the one way every suite gets a signed-in client. The token is
 * handed to Realtime here: supabase-js forwards the session to Realtime from an auth event, and
 * doing it now makes the next join carry it deterministically. `headers` go on every request
 * (a suite that plays a browser sends its User-Agent).
 */
export async function signedInClient<Schema = Database>(
  stack: Pick<TestStack, 'apiUrl' | 'publishableKey'>,
  persona: Persona,
  options: { headers?: Record<string, string> } = {},
): Promise<{ client: SupabaseClient<Schema>; token: string }> {
  const client = createTestClient<Schema>(stack, stack.publishableKey, options);
  const { data, error } = await client.auth.signInWithPassword({ email: DEMO_USERS[persona].email, password: DEMO_PASSWORD });
  if (error || !data.session) throw error ?? new Error(`${persona} could not sign in: no session`);
  await client.realtime.setAuth(data.session.access_token);
  return { client, token: data.session.access_token };
}
