import pg from 'pg';

/**
 * What PostgREST knows about the exposed schema: relations and their columns, keys and
 * foreign keys (for embedding), functions (for /rpc) and the settings of the roles it
 * impersonates. Every identifier a request names is checked against this before it reaches
 * SQL, so a name that is not in the catalog never becomes part of a statement.
 */
export const EXPOSED_SCHEMA = 'public';

export interface Column {
  name: string;
  /** format_type() of the column: catalog text, safe to place in SQL as a type. */
  type: string;
  nullable: boolean;
  /** pg_get_expr() of the default, evaluated for `Prefer: missing=default`. */
  defaultExpr: string | null;
}

export interface Table {
  name: string;
  kind: 'table' | 'view';
  columns: Map<string, Column>;
  primaryKey: string[];
  /** Unique constraints and the primary key, to tell one-to-one from one-to-many. */
  uniqueKeys: string[][];
}

/** A foreign key `table(columns)` → `foreignTable(foreignColumns)`, both in the exposed schema. */
export interface ForeignKey {
  constraint: string;
  table: string;
  columns: string[];
  foreignTable: string;
  foreignColumns: string[];
}

export interface RoutineParam {
  name: string;
  type: string;
  hasDefault: boolean;
}

export interface Routine {
  name: string;
  params: RoutineParam[];
  returnsSet: boolean;
  returnKind: 'void' | 'scalar' | 'composite';
  /** Column names of a composite or TABLE result, to validate filters and select on it. */
  returnColumns: string[];
  /** A single unnamed json/jsonb parameter: the whole body is the argument. */
  takesBody: boolean;
}

export interface SchemaCache {
  tables: Map<string, Table>;
  foreignKeys: ForeignKey[];
  routines: Map<string, Routine[]>;
  /** `alter role ... set` settings PostgREST applies when it impersonates a role. */
  roleSettings: Map<string, [string, string][]>;
}

const RELATIONS_SQL = `
select c.relname as table, c.relkind as kind, a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
       not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as default_expr
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
 where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'f', 'p')
 order by c.relname, a.attnum`;

const CONSTRAINTS_SQL = `
select con.conname as name, con.contype as type, c.relname as table,
       array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
               join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord) as columns,
       fc.relname as foreign_table, fn.nspname as foreign_schema,
       array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
               join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord) as foreign_columns
  from pg_constraint con
  join pg_class c on c.oid = con.conrelid
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_class fc on fc.oid = con.confrelid
  left join pg_namespace fn on fn.oid = fc.relnamespace
 where n.nspname = $1 and con.contype in ('p', 'u', 'f')
 order by con.conname`;

const ROUTINES_SQL = `
select p.proname as name, p.proretset as returns_set, p.pronargs as nargs, p.pronargdefaults as ndefaults,
       coalesce(p.proargnames, '{}') as arg_names,
       coalesce(p.proargmodes::text[], '{}') as arg_modes,
       array(select format_type(t.oid, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
               with ordinality x(oid, ord) join pg_type t on t.oid = x.oid order by x.ord) as arg_types,
       format_type(p.prorettype, null) as return_type, rt.typtype as return_typtype,
       case when rt.typrelid <> 0 then array(select a.attname::text from pg_attribute a
              where a.attrelid = rt.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum) end as return_columns
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type rt on rt.oid = p.prorettype
 where n.nspname = $1 and p.prokind = 'f'`;

const ROLE_SETTINGS_SQL = `
select r.rolname as role, split_part(cfg, '=', 1) as name, substr(cfg, strpos(cfg, '=') + 1) as value
  from pg_db_role_setting s
  join pg_roles r on r.oid = s.setrole
  cross join lateral unnest(s.setconfig) cfg
  join pg_settings ps on ps.name = split_part(cfg, '=', 1) and ps.context = 'user'
 where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
 order by s.setdatabase`;

export async function loadSchemaCache(db: pg.Pool | pg.Client): Promise<SchemaCache> {
  const [relations, constraints, routines, settings] = await Promise.all([
    db.query(RELATIONS_SQL, [EXPOSED_SCHEMA]),
    db.query(CONSTRAINTS_SQL, [EXPOSED_SCHEMA]),
    db.query(ROUTINES_SQL, [EXPOSED_SCHEMA]),
    db.query(ROLE_SETTINGS_SQL),
  ]);

  const tables = new Map<string, Table>();
  for (const row of relations.rows) {
    let table = tables.get(row.table);
    if (!table) {
      table = { name: row.table, kind: row.kind === 'r' || row.kind === 'p' ? 'table' : 'view', columns: new Map(), primaryKey: [], uniqueKeys: [] };
      tables.set(row.table, table);
    }
    table.columns.set(row.column, { name: row.column, type: row.type, nullable: row.nullable, defaultExpr: row.default_expr });
  }

  const foreignKeys: ForeignKey[] = [];
  for (const row of constraints.rows) {
    const table = tables.get(row.table);
    if (!table) continue;
    if (row.type === 'p') table.primaryKey = row.columns;
    if (row.type === 'p' || row.type === 'u') table.uniqueKeys.push(row.columns);
    // Only keys between exposed relations can be embedded; auth.users is not exposed.
    if (row.type === 'f' && row.foreign_schema === EXPOSED_SCHEMA && tables.has(row.foreign_table)) {
      foreignKeys.push({
        constraint: row.name,
        table: row.table,
        columns: row.columns,
        foreignTable: row.foreign_table,
        foreignColumns: row.foreign_columns,
      });
    }
  }

  const routineMap = new Map<string, Routine[]>();
  for (const row of routines.rows) {
    const modes: string[] = row.arg_modes;
    const names: string[] = row.arg_names;
    const types: string[] = row.arg_types;
    const inputs: { name: string; type: string }[] = [];
    const outputs: string[] = [];
    types.forEach((type, i) => {
      const mode = modes[i] ?? 'i';
      if (mode === 'i' || mode === 'b' || mode === 'v') inputs.push({ name: names[i] ?? '', type });
      if (mode === 'o' || mode === 'b' || mode === 't') outputs.push(names[i] ?? '');
    });
    const firstDefault = inputs.length - row.ndefaults;
    const params = inputs.map((p, i) => ({ ...p, hasDefault: i >= firstDefault }));
    const returnKind: Routine['returnKind'] =
      row.return_type === 'void' ? 'void' : row.return_typtype === 'c' || outputs.length > 1 ? 'composite' : 'scalar';
    const routine: Routine = {
      name: row.name,
      params,
      returnsSet: row.returns_set,
      returnKind,
      returnColumns: row.return_columns ?? (outputs.length > 1 ? outputs : []),
      takesBody: params.length === 1 && params[0]!.name === '' && (params[0]!.type === 'json' || params[0]!.type === 'jsonb'),
    };
    const list = routineMap.get(row.name) ?? [];
    list.push(routine);
    routineMap.set(row.name, list);
  }

  const roleSettings = new Map<string, [string, string][]>();
  for (const row of settings.rows) {
    const list = (roleSettings.get(row.role) ?? []).filter(([name]) => name !== row.name);
    list.push([row.name, row.value]);
    roleSettings.set(row.role, list);
  }

  return { tables, foreignKeys, routines: routineMap, roleSettings };
}

/**
 * The cache, loaded at first use and reloaded on `NOTIFY pgrst, 'reload schema'` as
 * PostgREST does. The listener runs on its own connection (a pooled one would be handed to
 * other work and miss notifications) and LISTENs before the first load, so a change made
 * between the two cannot be lost. A lost listener reconnects and reloads, since
 * notifications sent while it was away are gone.
 */
export class SchemaCacheHolder {
  private current: Promise<SchemaCache> | undefined;
  private listener: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dbUrl: string,
    private readonly pool: pg.Pool,
    private readonly log: (line: string) => void,
  ) {}

  get(): Promise<SchemaCache> {
    if (!this.current) {
      this.current = this.listen().then(() => loadSchemaCache(this.pool));
      // A failed first load is retried by the next request rather than cached forever.
      this.current.catch(() => (this.current = undefined));
    }
    return this.current;
  }

  /**
   * Swaps in a fresh cache. Requests made after the notification wait for it: a test that
   * creates a table and notifies must not race the reload. A failed reload keeps the old one.
   */
  reload(): void {
    const previous = this.current;
    const next = loadSchemaCache(this.pool).catch((error) => {
      this.log(`rest: schema cache reload failed: ${(error as Error).message}`);
      if (previous) return previous;
      throw error;
    });
    this.current = next;
    next.catch(() => {
      if (this.current === next) this.current = undefined;
    });
  }

  private async listen(): Promise<void> {
    if (this.listener || this.closed) return;
    const client = new pg.Client({ connectionString: this.dbUrl });
    this.listener = client;
    client.on('notification', (msg) => {
      const payload = (msg.payload ?? '').trim();
      if (payload === '' || payload === 'reload schema') this.reload();
    });
    client.on('error', (error) => {
      this.log(`rest: schema listener lost: ${error.message}`);
      this.reconnectLater();
    });
    client.on('end', () => this.reconnectLater());
    try {
      await client.connect();
      await client.query('listen pgrst');
    } catch (error) {
      this.listener = undefined;
      client.end().catch(() => {});
      throw error;
    }
  }

  private reconnectLater(): void {
    if (this.closed || this.retryTimer) return;
    this.listener = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.listen()
        .then(() => this.reload())
        .catch(() => this.reconnectLater());
    }, 1000);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => {});
  }
}
