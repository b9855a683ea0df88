import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { DEMO_ACCOUNTS, isLocalProject } from './demo-accounts.ts';

describe('the demo accounts on the sign-in page', () => {
  test('are offered where the project is on this machine (the local platform, supabase start)', () => {
    for (const url of ['http://127.0.0.1:54321', 'http://localhost:54321', 'http://[::1]:54321', 'http://api.localhost:8000']) {
      assert.equal(isLocalProject(url), true, url);
    }
  });

  test('are not offered for a hosted project, a look-alike host or a URL that does not parse', () => {
    for (const url of ['https://abcdefghijklmnop.supabase.co', 'http://127.0.0.1.example.com', 'https://localhost.example.com', 'not a url', '']) {
      assert.equal(isLocalProject(url), false, url);
    }
  });

  test('are the accounts the seed creates', () => {
    assert.deepEqual(DEMO_ACCOUNTS.map((a) => a.email).sort(), Object.values(DEMO_USERS).map((u) => u.email).sort());
  });
});
