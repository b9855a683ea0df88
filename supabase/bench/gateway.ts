import pg from 'pg';
import { AUTHENTICATOR_PASSWORD } from '../local/config.ts';
import { loadSchemaCache } from '../local/gateway/rest/schema-cache.ts';
import { applyQueryParams, buildReadTree, tableScope } from '../local/gateway/rest/read-plan.ts';
import { AliasCounter } from '../local/gateway/rest/sql-fragments.ts';
import { readStatement, routineSource } from '../local/gateway/rest/statements.ts';
import { type FixtureSchema, signedInClient } from '../../testkit/http/clients.ts';
import { DEMO_USERS } from '../../testkit/demo-users.ts';
import { startTestStack } from '../../testkit/http/stack.ts';
import { until } from '../../testkit/wait.ts';
import { summary } from '../../testkit/percentiles.ts';

/**
 * What the REST gateway costs on top of Postgres. Two requests an app makes all the time,
 * each measured four ways in one run:
 *   - `supabase_js`: the official client (global fetch, keep-alive) through the gateway;
 *   - `fetch`: raw keep-alive fetch through the gateway (no client-side query building);
 *   - `pg_plain`: the exact statement the gateway runs, on a pg connection logged in as
 *     `authenticator` whose session already is the user (role and claims set once), so RLS
 *     applies the same way and only the statement's own round trip is timed;
 *   - `pg_tx`: what a naive server does per request over pg: BEGIN, set role and claims,
 *     the statement, COMMIT (four round trips).
 * `overhead_p50_ms` is supabase_js p50 minus pg_plain p50: all the gateway adds (HTTP, JWT,
 * parsing, SQL building, role switching). Target: at most 1.5 ms.
 *
 * (1) select: 10 of the signed-in user's rows with a filter, through RLS;
 * (2) rpc: a scalar SQL function with two named arguments (POST /rpc).
 */
const ITERATIONS = 3000;
const WARMUP = 300;
const BUDGET_MS = 25_000;
const BLOCK = 100;
const TARGET_OVERHEAD_P50_MS = 1.5;

const SETUP_SQL = `
create table public.bench_items (
  id bigint generated always as identity primary key,
  owner uuid not null default auth.uid(),
  category int not null,
  title text not null,
  amount numeric(10, 2) not null,
  created_at timestamptz not null default now()
);
create index on public.bench_items (owner, category, id);
alter table public.bench_items enable row level security;
create policy "own rows" on public.bench_items for all to authenticated
  using (owner = auth.uid()) with check (owner = auth.uid());
insert into public.bench_items (owner, category, title, amount)
  select case when i % 2 = 0 then '${DEMO_USERS.alice.id}'::uuid else '${DEMO_USERS.bob.id}'::uuid end,
         i % 5, 'item ' || i, (i % 1000) / 10.0
    from generate_series(1, 20000) i;
analyze public.bench_items;
create function public.bench_add(a int, b int) returns int language sql stable as $$ select a + b $$;
notify pgrst, 'reload schema';
`;


/**
 * Runs the ways of making one request in interleaved blocks of BLOCK iterations, so that load
 * from anything else on the (shared, 2-core) machine falls on all of them alike rather than
 * on whichever happened to run during a busy second.
 */
async function measureInterleaved<K extends string>(ways: Record<K, () => PromiseLike<unknown>>) {
  const names = Object.keys(ways) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (const name of names) for (let i = 0; i < WARMUP; i++) await ways[name]();
  const deadline = Date.now() + BUDGET_MS;
  while (samples[names[0]!].length < ITERATIONS && Date.now() < deadline) {
    for (const name of names) {
      for (let i = 0; i < BLOCK; i++) {
        const start = performance.now();
        await ways[name]();
        samples[name].push(performance.now() - start);
      }
    }
  }
  return Object.fromEntries(names.map((n) => [n, summary(samples[n], 3)])) as Record<K, ReturnType<typeof summary>>;
}

export default async function gatewayBenchmark() {
  const stack = await startTestStack();
  const plainPool = new pg.Pool({ connectionString: authenticatorUrl(stack.dbUrl), max: 1 });
  const txPool = new pg.Pool({ connectionString: authenticatorUrl(stack.dbUrl), max: 1 });
  try {
    await stack.db.query(SETUP_SQL);
    const { client, token } = await signedInClient<FixtureSchema>(stack, 'alice');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    // The schema cache reload follows NOTIFY; wait until the table is served.
    await until(async () => !(await client.from('bench_items').select('id').limit(1)).error, { label: 'the bench table to be served' });

    // The statements exactly as the gateway builds them for these two requests.
    const cache = await loadSchemaCache(stack.db);
    const table = cache.tables.get('bench_items')!;
    const selectQuery = new URLSearchParams({ select: 'id,title,amount,created_at', category: 'eq.3', order: 'id.desc', limit: '10' });
    const root = buildReadTree(cache, table.name, tableScope(table), table, selectQuery.get('select'), new AliasCounter());
    applyQueryParams(root, selectQuery);
    const selectStatement = readStatement(root, { shape: 'array', stripNulls: false }, false, undefined).main;
    const routine = cache.routines.get('bench_add')![0]!;
    const source = routineSource(routine, { a: 2, b: 3 }, undefined);
    const rpcRoot = buildReadTree(cache, routine.name, { relation: routine.name, has: () => false }, undefined, null, new AliasCounter());
    const rpcStatement = readStatement(rpcRoot, { shape: 'object', stripNulls: false }, false, undefined, source).main;

    const plain = await plainPool.connect();
    await plain.query(`select set_config('role', 'authenticated', false), set_config('request.jwt.claims', $1, false),
      set_config('search_path', 'public, extensions', false)`, [JSON.stringify(claims)]);
    const tx = await txPool.connect();
    const inTransaction = async (statement: { text: string; values: (string | null)[] }) => {
      await tx.query('begin');
      await tx.query(
        `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true), set_config('search_path', 'public, extensions', true)`,
        [JSON.stringify(claims)],
      );
      await tx.query(statement.text, statement.values);
      await tx.query('commit');
    };

    // Sanity: every path returns the same 10 rows before anything is timed.
    const viaClient = await client.from('bench_items').select('id,title,amount,created_at').eq('category', 3).order('id', { ascending: false }).limit(10);
    const viaPg = await plain.query(selectStatement.text, selectStatement.values);
    const pgBody = JSON.parse(viaPg.rows[0].body);
    if (viaClient.data?.length !== 10 || JSON.stringify(viaClient.data) !== JSON.stringify(pgBody)) {
      throw new Error('gateway and direct statement disagree');
    }
    if ((await client.rpc('bench_add', { a: 2, b: 3 })).data !== 5) throw new Error('rpc sanity check failed');

    const headers = { apikey: stack.publishableKey, authorization: `Bearer ${token}` };
    const selectUrl = `${stack.apiUrl}/rest/v1/bench_items?${selectQuery}`;
    const rpcUrl = `${stack.apiUrl}/rest/v1/rpc/bench_add`;
    const started = Date.now();

    const select = await measureInterleaved({
      supabase_js: () => client.from('bench_items').select('id,title,amount,created_at').eq('category', 3).order('id', { ascending: false }).limit(10),
      fetch: async () => (await fetch(selectUrl, { headers })).text(),
      pg_plain: () => plain.query(selectStatement.text, selectStatement.values),
      pg_tx: () => inTransaction(selectStatement),
    });
    const rpc = await measureInterleaved({
      supabase_js: () => client.rpc('bench_add', { a: 2, b: 3 }),
      fetch: async () =>
        (await fetch(rpcUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"a":2,"b":3}' })).text(),
      pg_plain: () => plain.query(rpcStatement.text, rpcStatement.values),
      pg_tx: () => inTransaction(rpcStatement),
    });
    plain.release();
    tx.release();

    const overhead = (s: typeof select) => Math.round((s.supabase_js.p50 - s.pg_plain.p50) * 1000) / 1000;
    const overheadFetch = (s: typeof select) => Math.round((s.fetch.p50 - s.pg_plain.p50) * 1000) / 1000;
    const selectOverhead = overhead(select);
    const rpcOverhead = overhead(rpc);
    return {
      unit: 'ms',
      gateway_client: 'supabase_js = @supabase/supabase-js with global fetch (keep-alive); fetch = raw keep-alive fetch',
      direct_client: 'pg_plain = same statement, session already switched to the user; pg_tx = begin + set role/claims + statement + commit per request',
      iterations: ITERATIONS,
      warmup: WARMUP,
      select,
      rpc,
      overhead_p50_ms: { select: selectOverhead, rpc: rpcOverhead },
      overhead_p50_ms_raw_fetch: { select: overheadFetch(select), rpc: overheadFetch(rpc) },
      targets: { overhead_p50_ms_max: TARGET_OVERHEAD_P50_MS },
      pass: {
        select: selectOverhead <= TARGET_OVERHEAD_P50_MS,
        rpc: rpcOverhead <= TARGET_OVERHEAD_P50_MS,
        all: selectOverhead <= TARGET_OVERHEAD_P50_MS && rpcOverhead <= TARGET_OVERHEAD_P50_MS,
      },
      measured_seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await plainPool.end();
    await txPool.end();
    await stack.stop();
  }
}

function authenticatorUrl(dbUrl: string): string {
  const url = new URL(dbUrl);
  url.username = 'authenticator';
  url.password = AUTHENTICATOR_PASSWORD;
  return url.toString();
}
