import type pg from 'pg';
import type { PgTypeInfo } from './column-values.ts';
import type { RelationMessage } from './pgoutput.ts';

/**
 * What pgoutput does not say about a replicated table: type names (it sends oids), the primary
 * key (with REPLICA IDENTITY FULL every column is flagged as key), and whether RLS is on.
 * Keyed by the Relation message object: Postgres resends a Relation after any DDL that touches
 * the table (ALTER TABLE, ENABLE ROW LEVEL SECURITY), and that new object misses the cache.
 */
export interface RelationInfo {
  schema: string;
  table: string;
  rlsEnabled: boolean;
  primaryKey: string[];
  /** `columns` of a postgres_changes payload, in attnum order. */
  columns: Array<{ name: string; type: string }>;
  types: PgTypeInfo[];
  /** Column type names by column name (for filters). */
  typeByColumn: Record<string, string>;
}

export class RelationCatalog {
  private types = new Map<number, PgTypeInfo>();
  private relations = new WeakMap<RelationMessage, RelationInfo>();

  constructor(private readonly admin: pg.Pool) {}

  type(oid: number): PgTypeInfo | undefined {
    return this.types.get(oid);
  }

  cached(relation: RelationMessage): RelationInfo | undefined {
    return this.relations.get(relation);
  }

  async describe(relation: RelationMessage): Promise<RelationInfo> {
    const known = this.relations.get(relation);
    if (known) return known;
    await this.loadTypes(relation.columns.map((c) => c.typeOid));
    const { rows } = await this.admin.query<{ rls: boolean; pk: string[] | null }>(
      `select c.relrowsecurity as rls,
              (select array_agg(a.attname::text order by a.attnum)
                 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                where i.indrelid = c.oid and i.indisprimary) as pk
         from pg_class c where c.oid = $1`,
      [relation.relationId],
    );
    const types = relation.columns.map((c) => this.types.get(c.typeOid) ?? { name: 'text', elementOid: 0, delimiter: ',' });
    const info: RelationInfo = {
      schema: relation.schema,
      table: relation.name,
      rlsEnabled: rows[0]?.rls ?? true,
      primaryKey: rows[0]?.pk ?? [],
      columns: relation.columns.map((c, i) => ({ name: c.name, type: types[i]!.name })),
      types,
      typeByColumn: Object.fromEntries(relation.columns.map((c, i) => [c.name, types[i]!.name])),
    };
    this.relations.set(relation, info);
    return info;
  }

  private async loadTypes(oids: number[]) {
    const missing = [...new Set(oids)].filter((oid) => !this.types.has(oid));
    if (missing.length === 0) return;
    const { rows } = await this.admin.query<{ oid: number; typname: string; typelem: number; typdelim: string }>(
      `select t.oid::int, t.typname::text, t.typelem::int, t.typdelim::text from pg_type t
        where t.oid = any($1::oid[]) or t.oid in (select typelem from pg_type where oid = any($1::oid[]))`,
      [missing],
    );
    for (const r of rows) this.types.set(r.oid, { name: r.typname, elementOid: r.typelem && r.typname.startsWith('_') ? r.typelem : 0, delimiter: r.typdelim });
  }
}
