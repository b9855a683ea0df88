import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { ACTORS, testDbForFile, query, rejects } from '../../testkit/database/fixtures.ts';

const t = testDbForFile();

interface UserRow {
  id: string;
  email: string;
  role: string;
  balance: string;
}

describe('find_users', () => {
  for (const actor of ['support', 'admin'] as const) {
    test(`${actor}: an exact email finds that user with role and balance`, async () => {
      const rows = await query<UserRow>(t.db, actor, 'select * from public.find_users($1)', ['  ALICE@example.com ']);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.id, DEMO_USERS.alice.id);
      assert.equal(rows[0]!.role, 'user');
      const { rows: acct } = await t.db.query('select balance from public.credit_accounts where user_id = $1', [DEMO_USERS.alice.id]);
      assert.equal(Number(rows[0]!.balance), Number(acct[0]?.balance ?? 0));
    });
  }

  test('a prefix lists every match, exact match first, roles from app_metadata', async () => {
    const rows = await query<UserRow>(t.db, 'support', 'select * from public.find_users($1)', ['a']);
    assert.deepEqual(
      rows.map((r) => [r.email, r.role]),
      [
        ['admin@example.com', 'admin'],
        ['alice@example.com', 'user'],
      ],
    );
  });

  test('% and _ are literal characters, not wildcards', async () => {
    assert.deepEqual(await query(t.db, 'admin', 'select * from public.find_users($1)', ['%example']), []);
    assert.deepEqual(await query(t.db, 'admin', 'select * from public.find_users($1)', ['_lice']), []);
  });

  test('an empty or overlong term is refused', async () => {
    await rejects(query(t.db, 'admin', 'select * from public.find_users($1)', ['   ']), '22023', 'enter an email address or the start of one');
    await rejects(query(t.db, 'admin', 'select * from public.find_users($1)', ['a'.repeat(321)]), '22023', /email is too long: 321 characters/);
  });

  for (const actor of ACTORS.filter((a) => a !== 'support' && a !== 'admin')) {
    test(`${actor} may not look users up`, async () => {
      await assert.rejects(query(t.db, actor, 'select * from public.find_users($1)', ['alice']), (error: { code: string }) => error.code === '42501');
    });
  }
});

describe('get_user_profile', () => {
  test('support reads one user; an unknown id is no row', async () => {
    const rows = await query<UserRow>(t.db, 'support', 'select * from public.get_user_profile($1)', [DEMO_USERS.bob.id]);
    assert.equal(rows[0]!.email, DEMO_USERS.bob.email);
    assert.deepEqual(await query(t.db, 'support', 'select * from public.get_user_profile($1)', ['00000000-0000-4000-8000-0000000000ff']), []);
  });

  test('end users may not read profiles, not even their own', async () => {
    await rejects(
      query(t.db, 'alice', 'select * from public.get_user_profile($1)', [DEMO_USERS.alice.id]),
      '42501',
      'permission denied: get_user_profile requires the support or admin role (you are user)',
    );
  });
});
