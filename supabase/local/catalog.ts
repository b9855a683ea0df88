import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { repoRoot } from './config.ts';
import { prepareDatabase } from './migrate.ts';
import { createEmptyDatabase, startScratchCluster } from './postgres.ts';

/**
 * What a set of migrations leaves in a database, as text that two builds can be compared by.
 *
 * `npm run db:catalog-diff -- <git-ref> [<other-ref>]` builds one database from the migrations
 * at <git-ref> and one from the working tree's (or from <other-ref>'s), each with the project's
 * own runner on a fresh database (platform bootstrap, then the migrations, no seed), in a
 * throwaway cluster, and prints "no differences" or each object that differs; it exits 1 when
 * they differ. This is how a rewrite of the history (a squash) is shown to change nothing.
 *
 * The catalog is one entry per object, keyed by kind and qualified name, valued by its
 * definition as Postgres prints it back (pg_get_*def, format_type, pg_get_expr), read with
 * search_path = pg_catalog so every user object is schema-qualified. OIDs, creation order and
 * the order of entries inside an ACL carry no meaning and are left out or sorted. Objects that
 * belong to an extension are compared through the extension's name and version. Roles are
 * cluster-wide and both builds share one cluster, so they are not compared (the migrations
 * create none; the bootstrap does).
 */
export type Catalog = Map<string, string>;

const USER_SCHEMA = (column: string) =>
  `${column} not in ('pg_catalog', 'information_schema') and ${column} not like 'pg\\_toast%' and ${column} not like 'pg\\_temp\\_%'`;
const NOT_IN_EXTENSION = (classid: string, objid: string) =>
  `not exists (select 1 from pg_depend member where member.classid = ${classid} and member.objid = ${objid} and member.deptype = 'e')`;
/** An ACL as sorted text; null is "default" (the built-in privileges), not "none". */
const ACL = (column: string) =>
  `case when ${column} is null then 'default' else coalesce(array_to_string(array(select a::text from unnest(${column}) a order by 1), ' '), 'none') end`;

/** Each query returns (name, value) rows: one catalog entry each. */
const SECTIONS: Record<string, string> = {
  schemas: `
    select format('schema %I', n.nspname),
           concat_ws(E'\\n', 'owner: ' || pg_get_userbyid(n.nspowner), 'acl: ' || ${ACL('n.nspacl')})
      from pg_namespace n
     where ${USER_SCHEMA('n.nspname')} and ${NOT_IN_EXTENSION("'pg_namespace'::regclass", 'n.oid')}`,

  extensions: `
    select format('extension %I', x.extname),
           concat_ws(E'\\n', 'version: ' || x.extversion, 'schema: ' || x.extnamespace::regnamespace::text)
      from pg_extension x`,

  relations: `
    select format('%s %s', case c.relkind when 'r' then 'table' when 'p' then 'partitioned table' when 'v' then 'view'
                             when 'm' then 'materialized view' when 'S' then 'sequence' when 'f' then 'foreign table'
                             when 'c' then 'composite type' end, c.oid::regclass),
           concat_ws(E'\\n',
             'owner: ' || pg_get_userbyid(c.relowner),
             'persistence: ' || c.relpersistence::text,
             'row level security: ' || c.relrowsecurity || ', forced: ' || c.relforcerowsecurity,
             'replica identity: ' || c.relreplident::text,
             'options: ' || array_to_string(c.reloptions, ', '),
             'partition key: ' || case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end,
             'partition of: ' || (select string_agg(i.inhparent::regclass::text, ', ') from pg_inherits i where i.inhrelid = c.oid),
             'partition bound: ' || pg_get_expr(c.relpartbound, c.oid),
             'sequence: ' || (select format('%s start %s increment %s min %s max %s cache %s cycle %s',
                                            format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin,
                                            s.seqmax, s.seqcache, s.seqcycle)
                                from pg_sequence s where s.seqrelid = c.oid),
             'owned by: ' || (select format('%s.%I', d.refobjid::regclass, a.attname)
                                from pg_depend d join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                               where c.relkind = 'S' and d.classid = 'pg_class'::regclass and d.objid = c.oid
                                 and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0 and d.deptype in ('a', 'i')),
             'acl: ' || ${ACL('c.relacl')},
             'definition: ' || case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end)
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c') and ${USER_SCHEMA('n.nspname')}
       and ${NOT_IN_EXTENSION("'pg_class'::regclass", 'c.oid')}`,

  columns: `
    select format('column %s.%I', c.oid::regclass, a.attname),
           concat_ws(E'\\n',
             'position: ' || row_number() over (partition by c.oid order by a.attnum),
             'type: ' || format_type(a.atttypid, a.atttypmod),
             'not null: ' || a.attnotnull,
             'default: ' || pg_get_expr(d.adbin, d.adrelid),
             'identity: ' || case when a.attidentity <> '' then a.attidentity::text end,
             'generated: ' || case when a.attgenerated <> '' then a.attgenerated::text end,
             'collation: ' || case when a.attcollation <> t.typcollation then a.attcollation::regcollation::text end,
             'acl: ' || case when a.attacl is not null then ${ACL('a.attacl')} end)
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_type t on t.oid = a.atttypid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f', 'c')
       and ${USER_SCHEMA('n.nspname')} and ${NOT_IN_EXTENSION("'pg_class'::regclass", 'c.oid')}`,

  constraints: `
    select format('constraint %s.%I', coalesce(k.conrelid::regclass::text, k.contypid::regtype::text), k.conname),
           concat_ws(E'\\n',
             'type: ' || k.contype::text,
             'definition: ' || pg_get_constraintdef(k.oid, true),
             'deferrable: ' || k.condeferrable || ', deferred: ' || k.condeferred,
             'validated: ' || k.convalidated,
             'no inherit: ' || k.connoinherit)
      from pg_constraint k join pg_namespace n on n.oid = k.connamespace
     where ${USER_SCHEMA('n.nspname')} and ${NOT_IN_EXTENSION("'pg_constraint'::regclass", 'k.oid')}
       and (k.conrelid = 0 or ${NOT_IN_EXTENSION("'pg_class'::regclass", 'k.conrelid')})`,

  indexes: `
    select format('index %s', i.indexrelid::regclass),
           concat_ws(E'\\n',
             'definition: ' || pg_get_indexdef(i.indexrelid),
             'valid: ' || i.indisvalid,
             'clustered: ' || i.indisclustered,
             'replica identity: ' || i.indisreplident)
      from pg_index i
      join pg_class c on c.oid = i.indexrelid
      join pg_namespace n on n.oid = c.relnamespace
     where ${USER_SCHEMA('n.nspname')} and ${NOT_IN_EXTENSION("'pg_class'::regclass", 'i.indrelid')}`,

  functions: `
    select format('%s %s', case p.prokind when 'f' then 'function' when 'p' then 'procedure' when 'a' then 'aggregate'
                             when 'w' then 'window function' end, p.oid::regprocedure),
           concat_ws(E'\\n',
             'arguments: ' || pg_get_function_arguments(p.oid),
             'returns: ' || pg_get_function_result(p.oid),
             'language: ' || l.lanname,
             'volatility: ' || case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end,
             'strict: ' || p.proisstrict,
             'security definer: ' || p.prosecdef,
             'leakproof: ' || p.proleakproof,
             'parallel: ' || case p.proparallel when 's' then 'safe' when 'r' then 'restricted' else 'unsafe' end,
             'cost: ' || p.procost,
             'rows: ' || p.prorows,
             'settings: ' || array_to_string(p.proconfig, ', '),
             'owner: ' || pg_get_userbyid(p.proowner),
             'acl: ' || ${ACL('p.proacl')},
             'body:' || E'\\n' || case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end)
      from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      join pg_language l on l.oid = p.prolang
     where ${USER_SCHEMA('n.nspname')} and ${NOT_IN_EXTENSION("'pg_proc'::regclass", 'p.oid')}`,

  triggers: `
    select format('trigger %s.%I', t.tgrelid::regclass, t.tgname),
           concat_ws(E'\\n', 'definition: ' || pg_get_triggerdef(t.oid, true), 'enabled: ' || t.tgenabled::text)
      from pg_trigger t
      join pg_class c on c.oid = t.tgrelid
      join pg_namespace n on n.oid = c.relnamespace
     where not t.tgisinternal and ${USER_SCHEMA('n.nspname')}
       and ${NOT_IN_EXTENSION("'pg_class'::regclass", 't.tgrelid')}`,

  policies: `
    select format('policy %s.%I', p.polrelid::regclass, p.polname),
           concat_ws(E'\\n',
             'command: ' || p.polcmd::text,
             'permissive: ' || p.polpermissive,
             'roles: ' || (select string_agg(r.name, ', ' order by r.name)
                             from (select case when o = 0 then 'public' else pg_get_userbyid(o)::text end as name
                                     from unnest(p.polroles) o) r),
             'using: ' || pg_get_expr(p.polqual, p.polrelid, true),
             'with check: ' || pg_get_expr(p.polwithcheck, p.polrelid, true))
      from pg_policy p`,

  defaultPrivileges: `
    select format('default privileges of %s in %s on %s', pg_get_userbyid(d.defaclrole),
                  coalesce(quote_ident(n.nspname), 'every schema'),
                  case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences' when 'f' then 'functions'
                    when 'T' then 'types' when 'n' then 'schemas' else d.defaclobjtype::text end),
           'acl: ' || ${ACL('d.defaclacl')}
      from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace`,

  types: `
    select format('type %s', t.oid::regtype),
           concat_ws(E'\\n',
             'kind: ' || t.typtype::text,
             'owner: ' || pg_get_userbyid(t.typowner),
             'labels: ' || (select string_agg(quote_literal(e.enumlabel), ', ' order by e.enumsortorder)
                              from pg_enum e where e.enumtypid = t.oid),
             'base type: ' || case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end,
             'not null: ' || case when t.typtype = 'd' then t.typnotnull::text end,
             'default: ' || t.typdefault,
             'range of: ' || (select format_type(r.rngsubtype, null) from pg_range r where r.rngtypid = t.oid),
             'acl: ' || ${ACL('t.typacl')})
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where t.typtype in ('b', 'd', 'e', 'r', 'm', 'p') and t.typcategory <> 'A' and ${USER_SCHEMA('n.nspname')}
       and ${NOT_IN_EXTENSION("'pg_type'::regclass", 't.oid')}`,

  publications: `
    select format('publication %I', p.pubname),
           concat_ws(E'\\n',
             'owner: ' || pg_get_userbyid(p.pubowner),
             'all tables: ' || p.puballtables,
             'publishes: ' || concat_ws(', ', case when p.pubinsert then 'insert' end, case when p.pubupdate then 'update' end,
                                        case when p.pubdelete then 'delete' end, case when p.pubtruncate then 'truncate' end),
             'via root: ' || p.pubviaroot)
      from pg_publication p
    union all
    select format('publication %I table %I.%I', t.pubname, t.schemaname, t.tablename),
           concat_ws(E'\\n', 'columns: ' || array_to_string(t.attnames, ', '), 'row filter: ' || t.rowfilter)
      from pg_publication_tables t`,

  comments: `
    select format('comment on %s', pg_describe_object(d.classoid, d.objoid, d.objsubid)), d.description
      from pg_description d
     where (d.objoid >= 16384 or d.classoid = 'pg_namespace'::regclass)
       and ${NOT_IN_EXTENSION('d.classoid', 'd.objoid')}
       and not (d.classoid = 'pg_namespace'::regclass and d.objoid in (select oid from pg_namespace where not (${USER_SCHEMA('nspname')})))`,

  eventTriggers: `
    select format('event trigger %I', e.evtname),
           concat_ws(E'\\n', 'event: ' || e.evtevent, 'function: ' || e.evtfoid::regprocedure, 'enabled: ' || e.evtenabled::text,
                     'tags: ' || array_to_string(e.evttags, ', '))
      from pg_event_trigger e where ${NOT_IN_EXTENSION("'pg_event_trigger'::regclass", 'e.oid')}`,

  rules: `
    select format('rule %I.%I.%I', r.schemaname, r.tablename, r.rulename), r.definition
      from pg_rules r where ${USER_SCHEMA('r.schemaname')}`,

  // Anything else a migration could create; listed by name so that its presence is compared.
  otherObjects: `
    select format('object %s', pg_describe_object(o.classid, o.objid, 0)), ''
      from (select 'pg_operator'::regclass as classid, oid as objid from pg_operator
            union all select 'pg_cast'::regclass, oid from pg_cast
            union all select 'pg_collation'::regclass, oid from pg_collation
            union all select 'pg_conversion'::regclass, oid from pg_conversion
            union all select 'pg_opclass'::regclass, oid from pg_opclass
            union all select 'pg_opfamily'::regclass, oid from pg_opfamily
            union all select 'pg_am'::regclass, oid from pg_am
            union all select 'pg_language'::regclass, oid from pg_language
            union all select 'pg_ts_config'::regclass, oid from pg_ts_config
            union all select 'pg_ts_dict'::regclass, oid from pg_ts_dict
            union all select 'pg_foreign_data_wrapper'::regclass, oid from pg_foreign_data_wrapper
            union all select 'pg_foreign_server'::regclass, oid from pg_foreign_server
            union all select 'pg_statistic_ext'::regclass, oid from pg_statistic_ext
            union all select 'pg_transform'::regclass, oid from pg_transform) o
     where o.objid >= 16384 and ${NOT_IN_EXTENSION('o.classid', 'o.objid')}`,

  database: `
    select 'database', 'acl: ' || ${ACL('d.datacl')} from pg_database d where d.datname = current_database()
    union all
    select format('database settings for %s', coalesce(pg_get_userbyid(nullif(s.setrole, 0))::text, 'every role')),
           array_to_string(s.setconfig, ', ')
      from pg_db_role_setting s where s.setdatabase = (select oid from pg_database where datname = current_database())`,
};

/**
 * Rows the migrations themselves wrote (a bucket, a watermark row): every non-empty table outside
 * the runner's own bookkeeping, without the columns a volatile default fills (a timestamp, a
 * generated id), which differ on every build by construction.
 */
async function migrationRows(client: pg.Client): Promise<[string, string][]> {
  const { rows: tables } = await client.query<{ name: string; volatile: string[] }>(`
    select c.oid::regclass::text as name,
           coalesce(array_agg(a.attname::text) filter (
             where a.attidentity <> '' or a.attgenerated <> ''
                or pg_get_expr(d.adbin, d.adrelid) ~ '(now|random|gen_random_uuid|uuid_generate_v\\d|nextval|clock_timestamp)\\('),
             '{}') as volatile
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where c.relkind in ('r', 'p') and not c.relispartition and ${USER_SCHEMA('n.nspname')}
       and n.nspname <> 'supabase_migrations' and ${NOT_IN_EXTENSION("'pg_class'::regclass", 'c.oid')}
     group by c.oid order by 1`);
  const entries: [string, string][] = [];
  for (const table of tables) {
    const { rows } = await client.query<{ row: string }>(
      `select (to_jsonb(t) - $1::text[])::text as row from ${table.name} t order by 1 limit 1000`,
      [table.volatile],
    );
    if (rows.length > 0) entries.push([`rows of ${table.name}`, rows.map((r) => r.row).join('\n')]);
  }
  return entries;
}

/** Reads the catalog of the database at `url`. */
export async function readCatalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a lost connection also fails the query in flight, which reports it
  await client.connect();
  try {
    await client.query('set search_path = pg_catalog');
    const catalog: Catalog = new Map();
    for (const [section, sql] of Object.entries(SECTIONS)) {
      const { rows } = await client
        .query<{ name: string; value: string | null }>(`select name, value from (${sql}) as entry (name, value)`)
        .catch((error: Error) => {
          throw new Error(`catalog section ${section}: ${error.message}`);
        });
      for (const { name, value } of rows) {
        if (catalog.has(name)) throw new Error(`catalog section ${section}: two entries named ${name}`);
        catalog.set(name, value ?? '');
      }
    }
    for (const [name, value] of await migrationRows(client)) catalog.set(name, value);
    return catalog;
  } finally {
    await client.end();
  }
}

export interface CatalogDifference {
  name: string;
  /** Absent on the side where the object does not exist. */
  before?: string;
  after?: string;
}

export function diffCatalogs(before: Catalog, after: Catalog): CatalogDifference[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const differences: CatalogDifference[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a !== b) differences.push({ name, before: a, after: b });
  }
  return differences;
}

/** The lines of `a` and `b` with the longest common run kept; the rest marked - or +. */
function lineDiff(a: string[], b: string[]): string[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i]}`);
      i++;
    } else {
      out.push(`+ ${b[j]}`);
      j++;
    }
  }
  // Unchanged lines only as context: two on each side of a change, the rest elided.
  const nearChange = (k: number) => out.slice(Math.max(0, k - 2), k + 3).some((l) => !l.startsWith('  '));
  const shown: string[] = [];
  let elided = false;
  out.forEach((line, k) => {
    if (nearChange(k)) {
      shown.push(line);
      elided = false;
    } else if (!elided) {
      shown.push('  ...');
      elided = true;
    }
  });
  return shown;
}

/** The differences as text for a terminal: "no differences", or one block per object. */
export function formatDifferences(
  differences: CatalogDifference[],
  labels: { before: string; after: string } = { before: 'before', after: 'after' },
): string {
  if (differences.length === 0) return 'no differences';
  const blocks = differences.map((d) => {
    if (d.before === undefined) return `only in ${labels.after}: ${d.name}`;
    if (d.after === undefined) return `only in ${labels.before}: ${d.name}`;
    const body = lineDiff(d.before.split('\n'), d.after.split('\n')).map((l) => `    ${l}`);
    return [`differs: ${d.name} (- ${labels.before}, + ${labels.after})`, ...body].join('\n');
  });
  return `${blocks.join('\n')}\n${differences.length} difference${differences.length === 1 ? '' : 's'}`;
}

/** Builds a fresh database in the cluster at `clusterUrl` from one migrations folder (no seed). */
export async function buildDatabase(clusterUrl: string, migrations: string): Promise<string> {
  const url = await createEmptyDatabase(clusterUrl, 'catalog');
  await prepareDatabase(url, { migrations, seed: false });
  return url;
}

/** Builds one database per folder and compares what they hold. */
export async function compareMigrationFolders(clusterUrl: string, before: string, after: string): Promise<CatalogDifference[]> {
  // One after the other: the platform bootstrap alters cluster-wide roles, which two
  // transactions cannot do at the same time.
  const a = await buildDatabase(clusterUrl, before);
  const b = await buildDatabase(clusterUrl, after);
  return diffCatalogs(await readCatalog(a), await readCatalog(b));
}

const MIGRATIONS_PATH = 'supabase/migrations';

/** Writes the migration files as they were at a git ref into `dir`. */
export function writeMigrationsAtRef(ref: string, dir: string): string[] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  try {
    git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    throw new Error(`${ref} is not a commit in this repository`);
  }
  const files = git('ls-tree', '--name-only', `${ref}:${MIGRATIONS_PATH}`)
    .split('\n')
    .filter((f) => f.endsWith('.sql'));
  if (files.length === 0) throw new Error(`${ref} has no migrations in ${MIGRATIONS_PATH}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) fs.writeFileSync(path.join(dir, file), git('show', `${ref}:${MIGRATIONS_PATH}/${file}`));
  return files;
}

async function main(args: string[]): Promise<number> {
  const [beforeRef, afterRef, ...rest] = args;
  if (!beforeRef || beforeRef.startsWith('-') || rest.length > 0) {
    console.error('usage: npm run db:catalog-diff -- <git-ref> [<other-git-ref>]   (without the second ref: the working tree)');
    return 2;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-catalog-'));
  const cluster = await startScratchCluster();
  try {
    const beforeDir = path.join(scratch, 'before');
    writeMigrationsAtRef(beforeRef, beforeDir);
    let afterDir = path.join(repoRoot, MIGRATIONS_PATH);
    if (afterRef) {
      afterDir = path.join(scratch, 'after');
      writeMigrationsAtRef(afterRef, afterDir);
    }
    const differences = await compareMigrationFolders(cluster.url, beforeDir, afterDir);
    console.log(formatDifferences(differences, { before: beforeRef, after: afterRef ?? 'the working tree' }));
    return differences.length === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
