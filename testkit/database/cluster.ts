import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { maintainMessagePartitions } from '../../supabase/local/gateway/realtime/message-partitions.ts';
import { prepareDatabase } from '../../supabase/local/migrate.ts';
import { startScratchCluster } from '../../supabase/local/postgres.ts';

/**
 * Test fixtures for the local platform. The test runner starts one Postgres cluster on a
 * free port and builds a template database (bootstrap + migrations + seed) once; every test
 * file then gets its own database copied from the template (about 0.1 s) and, if it wants,
 * its own gateway on a free port. A test file run on its own (`tsx --test file`) starts a
 * private cluster instead. Nothing touches the developer's `.local/` stack or its ports.
 */
export const TEMPLATE_DB = 'jobhealth_template';
export const CLUSTER_ENV = 'JOBHEALTH_TEST_CLUSTER_URL';

/**
 * A scratch cluster holding the template database every test database is copied from.
 * `settings` are extra server settings (a benchmark that reads pg_stat_statements preloads it).
 */
export async function startTestCluster(settings: Record<string, string | number> = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const cluster = await startScratchCluster(settings);
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`create database ${TEMPLATE_DB}`);
    await admin.end();
    await prepareDatabase(cluster.urlFor(TEMPLATE_DB));
    // The message partitions the Realtime server would have made: SQL-only tests run without
    // one, and their broadcasts need a table to land in (test databases copy the template).
    const template = new pg.Client({ connectionString: cluster.urlFor(TEMPLATE_DB) });
    await template.connect();
    try {
      await maintainMessagePartitions(template);
    } finally {
      await template.end();
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function clusterUrl(): string {
  const url = process.env[CLUSTER_ENV];
  if (!url) {
    throw new Error(`no test cluster: run tests through "npm test" (e.g. npm test -- path/to/file.test.ts)`);
  }
  return url;
}

/**
 * One statement on a short-lived connection: for tests that look at a database from outside.
 * Rows are pg's `QueryResultRow` unless the caller names their shape as `R`.
 */
export async function queryOnce<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** Superuser URL of this test's own database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database with the platform, every migration and the seed, private to the caller. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = clusterUrl();
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
