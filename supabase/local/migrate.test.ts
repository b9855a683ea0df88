import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MigrationError, prepareDatabase } from './migrate.ts';
import { createEmptyDatabase } from './postgres.ts';
import { CLUSTER_ENV, queryOnce } from '../../testkit/database/cluster.ts';

const emptyDatabase = () => createEmptyDatabase(process.env[CLUSTER_ENV]!, 'migrate');

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-migrations-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeMigrations(files: Record<string, string>) {
  const folder = fs.mkdtempSync(path.join(dir, 'set-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(folder, name), sql);
  return folder;
}

describe('migration runner', () => {
  test('applies the platform, then migrations in file-name order, each once, recorded as the Supabase CLI does', async () => {
    const url = await emptyDatabase();
    const folder = writeMigrations({
      '20260102000000_second.sql': `insert into public.steps values ('second');`,
      '20260101000000_first.sql': `create table public.steps (name text); insert into public.steps values ('first');`,
    });
    const first = await prepareDatabase(url, { migrations: folder, seed: false });
    assert.deepEqual(first.applied, ['20260101000000_first.sql', '20260102000000_second.sql']);
    assert.deepEqual(await queryOnce(url, 'select name from public.steps'), [{ name: 'first' }, { name: 'second' }]);
    const recorded = await queryOnce(url, 'select version, name, statements from supabase_migrations.schema_migrations order by version');
    assert.deepEqual(
      recorded.map((r) => [r.version, r.name]),
      [
        ['20260101000000', 'first'],
        ['20260102000000', 'second'],
      ],
    );
    assert.match(recorded[0]!.statements[0], /create table public\.steps/);

    // The platform is there: roles, auth helpers, realtime publication.
    const [platform] = await queryOnce(
      url,
      `select (select count(*) from pg_roles where rolname in ('anon','authenticated','service_role','authenticator'))::int as roles,
              to_regprocedure('auth.uid()') is not null as uid,
              to_regprocedure('realtime.topic()') is not null as topic,
              exists (select 1 from pg_publication where pubname = 'supabase_realtime') as publication`,
    );
    assert.deepEqual(platform, { roles: 4, uid: true, topic: true, publication: true });

    const again = await prepareDatabase(url, { migrations: folder, seed: false });
    assert.deepEqual(again.applied, [], 'nothing runs twice');
    assert.equal((await queryOnce(url, 'select count(*)::int as n from public.steps'))[0]!.n, 2);
  });

  test('a failing migration stops with its file name and the Postgres error, and leaves nothing half-done', async () => {
    const url = await emptyDatabase();
    const folder = writeMigrations({
      '20260101000000_ok.sql': `create table public.ok (n int);`,
      '20260102000000_broken.sql': `create table public.half (n int);\nselect * from no_such_table;`,
      '20260103000000_later.sql': `create table public.later (n int);`,
    });
    await assert.rejects(prepareDatabase(url, { migrations: folder, seed: false }), (error: unknown) => {
      assert.ok(error instanceof MigrationError);
      assert.equal(
        error.message,
        'migration 20260102000000_broken.sql failed: relation "no_such_table" does not exist (line 2)',
      );
      return true;
    });
    const [state] = await queryOnce(
      url,
      `select to_regclass('public.ok') is not null as ok, to_regclass('public.half') is not null as half,
              to_regclass('public.later') is not null as later,
              (select array_agg(version order by version) from supabase_migrations.schema_migrations) as versions`,
    );
    assert.deepEqual(state, { ok: true, half: false, later: false, versions: ['20260101000000'] });
  });

  test('a file not named <version>_<name>.sql is refused before anything runs', async () => {
    const url = await emptyDatabase();
    const folder = writeMigrations({ 'create_things.sql': 'create table public.x (n int);' });
    await assert.rejects(prepareDatabase(url, { migrations: folder, seed: false }), /create_things\.sql: migration files are named/);
  });

  test('the project migrations and seed apply to a fresh database, and the seed runs only then', async () => {
    const url = await emptyDatabase();
    const fresh = await prepareDatabase(url);
    assert.equal(fresh.seeded, true);
    const users = await queryOnce(url, `select email, raw_app_meta_data->>'role' as role from auth.users order by email`);
    assert.deepEqual(users, [
      { email: 'admin@example.com', role: 'admin' },
      { email: 'alice@example.com', role: null },
      { email: 'bob@example.com', role: null },
      { email: 'support@example.com', role: 'support' },
    ]);
    const again = await prepareDatabase(url);
    assert.equal(again.seeded, false);
    assert.equal((await queryOnce(url, 'select count(*)::int as n from auth.users'))[0]!.n, 4);
  });
});
