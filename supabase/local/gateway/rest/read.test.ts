import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createTestClient, signedInClient, type FixtureSchema } from '../../../../testkit/http/clients.ts';
import { type TestStack } from '../../../../testkit/http/stack.ts';
import { rest, startRestStack, waitForRelation } from '../../../../testkit/http/rest-fixture.ts';

let stack: TestStack;
let alice: SupabaseClient;
let service: SupabaseClient;
before(async () => {
  stack = await startRestStack();
  alice = (await signedInClient<FixtureSchema>(stack, 'alice')).client;
  service = createTestClient<FixtureSchema>(stack, stack.secretKey);
});
after(async () => {
  await stack.stop();
});

const ids = (rows: { id: number }[] | null) => (rows ?? []).map((r) => r.id);

describe('selecting columns', () => {
  test('* returns every column with Postgres JSON types', async () => {
    const { data, error, status } = await alice.from('notes').select('*').eq('id', 1);
    assert.equal(error, null);
    assert.equal(status, 200);
    assert.deepEqual(data, [
      {
        id: 1,
        owner: '00000000-0000-4000-8000-00000000a003',
        title: 'alice one',
        body: 'first',
        priority: 1,
        views: 10,
        score: 1.5,
        done: false,
        meta: { color: 'red', size: 3 },
        tags: ['a', 'b'],
        category_id: 1,
        created_at: '2024-01-01T00:00:00+00:00',
      },
    ]);
  });

  test('bigints beyond 2^53 keep every digit in the JSON text', async () => {
    const res = await rest(stack, '/notes?select=views&id=eq.3', { token: (await signedInClient(stack, 'alice')).token });
    assert.equal(await res.text(), '[{"views":9007199254740993}]');
  });

  test('aliases, casts and JSON paths', async () => {
    const { data, error } = await alice
      .from('notes')
      .select('name:title,prio:priority::text,meta->>color,size:meta->size,missing:meta->nope')
      .eq('id', 1);
    assert.equal(error, null);
    assert.deepEqual(data, [{ name: 'alice one', prio: '1', color: 'red', size: 3, missing: null }]);
  });
});

/** The query each filter case refines: alice's `notes`, selecting `id`. */
const noteIds = () => alice.from('notes').select('id');
type NoteIdsQuery = ReturnType<typeof noteIds>;

describe('filters', () => {
  const cases: [string, (q: NoteIdsQuery) => NoteIdsQuery, number[]][] = [
    ['eq', (q) => q.eq('priority', 2), [2]],
    ['neq', (q) => q.neq('priority', 2), [1, 3]],
    ['gt', (q) => q.gt('priority', 1), [2, 3]],
    ['gte', (q) => q.gte('priority', 2), [2, 3]],
    ['lt', (q) => q.lt('priority', 2), [1]],
    ['lte', (q) => q.lte('priority', 2), [1, 2]],
    ['like', (q) => q.like('title', '%t_o'), [2]],
    ['ilike', (q) => q.ilike('title', 'ALICE T%'), [2, 3]],
    ['in', (q) => q.in('id', [1, 3, 99]), [1, 3]],
    ['in with commas in values', (q) => q.in('title', ['alice one', 'x,y']), [1]],
    ['is null', (q) => q.is('body', null), [2]],
    ['is true', (q) => q.is('done', true), [2]],
    ['not is null', (q) => q.not('body', 'is', null), [1, 3]],
    ['not in', (q) => q.not('id', 'in', '(1,2)'), [3]],
    ['or', (q) => q.or('priority.eq.1,priority.eq.3'), [1, 3]],
    ['nested or/and', (q) => q.or('id.eq.1,and(priority.gte.2,done.is.true)'), [1, 2]],
    ['json path', (q) => q.eq('meta->>color', 'red'), [1]],
    ['array contains', (q) => q.contains('tags', ['b']), [1, 2]],
    ['array overlaps', (q) => q.overlaps('tags', ['a', 'z']), [1]],
    ['jsonb contains', (q) => q.contains('meta', { color: 'blue' }), [2]],
    ['several filters are and-ed', (q) => q.gte('priority', 1).eq('done', false), [1, 3]],
    ['text search', (q) => q.textSearch('title', 'three'), [3]],
  ];
  for (const [name, apply, expected] of cases) {
    test(name, async () => {
      const { data, error } = await apply(noteIds()).order('id');
      assert.equal(error, null, JSON.stringify(error));
      assert.deepEqual(ids(data), expected);
    });
  }

  test('not.or negates a whole logic tree', async () => {
    const res = await rest(stack, '/notes?select=id&not.or=(id.eq.1,id.eq.2)&order=id', { token: (await signedInClient(stack, 'alice')).token });
    assert.deepEqual(await res.json(), [{ id: 3 }]);
  });

  test('or with quoted values keeps their commas and parentheses', async () => {
    const { data, error } = await alice.from('notes').select('id').or('title.eq."alice one",title.eq."(a,b)"');
    assert.equal(error, null);
    assert.deepEqual(ids(data), [1]);
  });
});

describe('ordering and paging', () => {
  test('order by several columns with nulls placement', async () => {
    const { data } = await service.from('notes').select('id').order('score', { ascending: false, nullsFirst: true }).order('id');
    assert.deepEqual(ids(data), [3, 5, 4, 2, 1]);
    const nullsLast = await service.from('notes').select('id').order('score', { ascending: true, nullsFirst: false }).order('id');
    assert.deepEqual(ids(nullsLast.data), [1, 2, 4, 3, 5]);
  });

  test('limit and range', async () => {
    const limited = await service.from('notes').select('id').order('id').limit(2);
    assert.deepEqual(ids(limited.data), [1, 2]);
    const ranged = await service.from('notes').select('id').order('id').range(1, 3);
    assert.deepEqual(ids(ranged.data), [2, 3, 4]);
  });

  test('the Range header pages like PostgREST', async () => {
    const res = await rest(stack, '/notes?select=id&order=id', { token: stack.secretKey, headers: { range: '2-3' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-range'), '2-3/*');
    assert.deepEqual(await res.json(), [{ id: 3 }, { id: 4 }]);
  });

  test('count=exact fills Content-Range and answers 206 for a partial page', async () => {
    const { data, count, status } = await service.from('notes').select('id', { count: 'exact' }).order('id').range(0, 1);
    assert.equal(count, 5);
    assert.equal(status, 206);
    assert.deepEqual(ids(data), [1, 2]);
    const whole = await service.from('notes').select('id', { count: 'exact' });
    assert.equal(whole.status, 200);
    const res = await rest(stack, '/notes?id=eq.999', { token: stack.secretKey, headers: { prefer: 'count=exact' } });
    assert.equal(res.headers.get('content-range'), '*/0');
  });

  test('count=planned and estimated give a number', async () => {
    const planned = await service.from('notes').select('id', { count: 'planned' }).gt('id', 0);
    assert.equal(planned.error, null);
    assert.equal(typeof planned.count, 'number');
    const estimated = await service.from('notes').select('id', { count: 'estimated' });
    assert.equal(estimated.count, 5);
  });

  test('HEAD with count returns the count and no body', async () => {
    const { data, count, error } = await alice.from('notes').select('*', { count: 'exact', head: true });
    assert.equal(error, null);
    assert.equal(data, null);
    assert.equal(count, 3);
  });

  test('an offset past the end is 416 PGRST103', async () => {
    const res = await rest(stack, '/notes?offset=10', { token: stack.secretKey, headers: { prefer: 'count=exact' } });
    assert.equal(res.status, 416);
    assert.equal((await res.json()).code, 'PGRST103');
  });
});

describe('single and maybeSingle', () => {
  test('single returns the object', async () => {
    const { data, error } = await alice.from('notes').select('id,title').eq('id', 2).single();
    assert.equal(error, null);
    assert.deepEqual(data, { id: 2, title: 'alice two' });
  });

  test('single over zero or several rows is 406 PGRST116', async () => {
    for (const query of [alice.from('notes').select('id').eq('id', 4), alice.from('notes').select('id')]) {
      const { data, error, status } = await query.single();
      assert.equal(data, null);
      assert.equal(status, 406);
      assert.equal(error?.code, 'PGRST116');
    }
  });

  test('maybeSingle gives null for no row and the row for one', async () => {
    const none = await alice.from('notes').select('id').eq('id', 4).maybeSingle();
    assert.equal(none.error, null);
    assert.equal(none.data, null);
    const one = await alice.from('notes').select('id').eq('id', 1).maybeSingle();
    assert.deepEqual(one.data, { id: 1 });
  });
});

describe('embedding', () => {
  test('to-one and to-many embeds with aliases', async () => {
    const { data, error } = await alice
      .from('notes')
      .select('id, category:categories(name), comments(body)')
      .in('id', [1, 3])
      .order('id');
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(data, [
      { id: 1, category: { name: 'work' }, comments: [{ body: 'c1 on 1' }, { body: 'c2 on 1' }] },
      { id: 3, category: null, comments: [] },
    ]);
  });

  test('embedding from the referenced side, by foreign-key column and with a hint', async () => {
    const { data, error } = await service.from('categories').select('name, notes(id)').eq('id', 2);
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(data, [{ name: 'home', notes: [{ id: 2 }] }]);
    const byColumn = await alice.from('notes').select('id, category_id(name)').eq('id', 1);
    assert.deepEqual(byColumn.data, [{ id: 1, category_id: { name: 'work' } }]);
    const hinted = await alice.from('comments').select('body, note:notes!note_id(title)').eq('body', 'c3 on 2');
    assert.deepEqual(hinted.data, [{ body: 'c3 on 2', note: { title: 'alice two' } }]);
  });

  test('!inner drops parents without a match; embedded filters, order and limit apply inside', async () => {
    const inner = await alice.from('notes').select('id, comments!inner(body)').order('id');
    assert.deepEqual(ids(inner.data as never), [1, 2]);
    const filtered = await alice
      .from('notes')
      .select('id, comments!inner(body)')
      .eq('comments.body', 'c3 on 2');
    assert.deepEqual(filtered.data, [{ id: 2, comments: [{ body: 'c3 on 2' }] }]);
    const ordered = await alice
      .from('notes')
      .select('id, comments(body)')
      .eq('id', 1)
      .order('body', { referencedTable: 'comments', ascending: false })
      .limit(1, { referencedTable: 'comments' });
    assert.deepEqual(ordered.data, [{ id: 1, comments: [{ body: 'c2 on 1' }] }]);
  });

  test('embedded rows pass through RLS too', async () => {
    const { data } = await ((await signedInClient<FixtureSchema>(stack, 'bob')).client).from('categories').select('id, notes(id)').eq('id', 1);
    assert.deepEqual(data, [{ id: 1, notes: [{ id: 4 }] }]);
  });

  test('an unknown relationship is 400 PGRST200', async () => {
    const { error, status } = await alice.from('notes').select('id, users(*)');
    assert.equal(status, 400);
    assert.equal(error?.code, 'PGRST200');
  });
});

describe('schema cache', () => {
  test('a table created later is served after NOTIFY pgrst', async () => {
    const before = await rest(stack, '/late_table', { token: stack.secretKey });
    assert.equal(before.status, 404);
    assert.equal((await before.json()).code, 'PGRST205');
    await stack.db.query(`create table public.late_table (id int primary key); insert into public.late_table values (7);
      alter table public.late_table enable row level security; notify pgrst, 'reload schema'`);
    await waitForRelation(stack, 'late_table');
    const { data } = await service.from('late_table').select('*');
    assert.deepEqual(data, [{ id: 7 }]);
  });

  test('GET / describes the exposed relations', async () => {
    const res = await rest(stack, '/', { token: stack.secretKey });
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.ok(doc.paths['/notes']);
    assert.ok(doc.definitions.notes.properties.title);
  });
});
