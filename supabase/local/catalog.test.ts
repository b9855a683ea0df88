import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDatabase, diffCatalogs, formatDifferences, readCatalog, type Catalog } from './catalog.ts';
import { CLUSTER_ENV } from '../../testkit/database/cluster.ts';

/**
 * The catalog comparison behind `npm run db:catalog-diff`: two migration folders that build the
 * same schema compare equal, and one changed function body, grant or policy is reported by name.
 */
const BASE = `
create table public.notes (id bigint generated always as identity primary key, body text not null);
alter table public.notes enable row level security;
create policy notes_read on public.notes for select to authenticated using (body <> '');
create function public.note_count() returns bigint language sql stable as $$ select count(*) from public.notes $$;
revoke all on function public.note_count() from public, anon;
`;

let dir: string;
let baseCatalog: Catalog;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-catalog-test-'));
  baseCatalog = await catalogOf(BASE);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The catalog of a fresh database built from one migration holding `sql`. */
async function catalogOf(sql: string): Promise<Catalog> {
  const folder = fs.mkdtempSync(path.join(dir, 'set-'));
  fs.writeFileSync(path.join(folder, '20260101000000_notes.sql'), sql);
  return readCatalog(await buildDatabase(process.env[CLUSTER_ENV]!, folder));
}

describe('catalog comparison', () => {
  test('the same migrations, split differently and with other comments, compare equal', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'split-'));
    const [table, rest] = BASE.split('alter table');
    fs.writeFileSync(path.join(folder, '20260101000000_table.sql'), `-- The table.\n${table}`);
    fs.writeFileSync(path.join(folder, '20260102000000_rules.sql'), `-- Its rules.\nalter table${rest}`);
    const split = await readCatalog(await buildDatabase(process.env[CLUSTER_ENV]!, folder));
    assert.deepEqual(diffCatalogs(baseCatalog, split), []);
    assert.equal(formatDifferences([]), 'no differences');
    // What was compared includes the objects themselves, not only the platform.
    for (const name of ['table public.notes', 'policy public.notes.notes_read', 'function public.note_count()']) {
      assert.ok(baseCatalog.has(name), name);
    }
  });

  test('a function body that differs is reported with the changed line', async () => {
    const changed = await catalogOf(BASE.replace('select count(*)', 'select count(*) + 0'));
    const differences = diffCatalogs(baseCatalog, changed);
    assert.deepEqual(differences.map((d) => d.name), ['function public.note_count()']);
    const text = formatDifferences(differences, { before: 'old', after: 'new' });
    assert.match(text, /^differs: function public\.note_count\(\) \(- old, \+ new\)$/m);
    assert.match(text, /^ {4}- +select count\(\*\) from public\.notes $/m);
    assert.match(text, /^ {4}\+ +select count\(\*\) \+ 0 from public\.notes $/m);
    assert.match(text, /^1 difference$/m);
  });

  test('a grant that differs is reported', async () => {
    const changed = await catalogOf(`${BASE}grant execute on function public.note_count() to anon;\n`);
    const differences = diffCatalogs(baseCatalog, changed);
    assert.deepEqual(differences.map((d) => d.name), ['function public.note_count()']);
    assert.match(formatDifferences(differences), /^ {4}\+ acl: .*anon=X\/postgres/m);
  });

  test('a policy that differs, or exists on one side only, is reported', async () => {
    const changed = await catalogOf(
      `${BASE.replace("using (body <> '')", "using (body <> 'x')")}create policy notes_write on public.notes for insert to authenticated with check (true);\n`,
    );
    const differences = diffCatalogs(baseCatalog, changed);
    assert.deepEqual(differences.map((d) => d.name), ['policy public.notes.notes_read', 'policy public.notes.notes_write']);
    const text = formatDifferences(differences, { before: 'old', after: 'new' });
    assert.match(text, /^differs: policy public\.notes\.notes_read/m);
    assert.match(text, /^only in new: policy public\.notes\.notes_write$/m);
    assert.match(text, /^2 differences$/m);
  });
});
