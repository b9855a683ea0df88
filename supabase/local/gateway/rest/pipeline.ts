import pg from 'pg';

/**
 * Runs several statements in ONE round trip and ONE transaction: every statement is sent as
 * Parse/Bind/Execute and a single Sync closes the batch. Postgres runs everything before a
 * Sync as one implicit transaction (committed at the Sync, rolled back on the first error,
 * after which the remaining statements are skipped), which is exactly PostgREST's
 * "set role and claims, run the statement, commit" without BEGIN/COMMIT round trips.
 * Against a one-statement-per-round-trip version (BEGIN, setup, statement, COMMIT) this took
 * the gateway's p50 overhead from several round trips to one.
 *
 * It is a node-postgres "submittable", so it queues on a pooled client like any query.
 * Values are always sent as text bind parameters with unspecified types: Postgres infers
 * each parameter's type from where it is used, as PostgREST's unknown-typed literals are.
 */
export interface Statement {
  text: string;
  values: (string | null)[];
}

/** Rows of each statement, every field as Postgres's text output (or null). */
export type StatementRows = (string | null)[][];

interface Connection {
  parse(q: { text: string; name?: string; types?: number[] }): void;
  bind(q: { values: (string | null)[] }): void;
  execute(q: object): void;
  sync(): void;
  stream: { cork?(): void; uncork?(): void };
}

class PipelinedStatements {
  private readonly results: StatementRows[];
  private current = 0;
  callback?: (error: Error | null, rows?: StatementRows[]) => void;

  constructor(private readonly statements: Statement[]) {
    this.results = statements.map(() => []);
  }

  submit(connection: Connection) {
    connection.stream.cork?.();
    try {
      for (const statement of this.statements) {
        connection.parse({ text: statement.text });
        connection.bind({ values: statement.values });
        connection.execute({});
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription() {}
  handleDataRow(msg: { fields: (string | null)[] }) {
    this.results[this.current]?.push(msg.fields);
  }
  handleCommandComplete() {
    this.current++;
  }
  handleEmptyQuery() {
    this.current++;
  }
  handlePortalSuspended() {}
  handleCopyInResponse() {}
  handleCopyData() {}
  handleError(error: Error) {
    // node-postgres calls this once; the ReadyForQuery that follows goes to the next query.
    this.callback?.(error);
    this.callback = undefined;
  }
  handleReadyForQuery() {
    this.callback?.(null, this.results);
    this.callback = undefined;
  }
}

function send(client: pg.PoolClient, statements: Statement[]): Promise<StatementRows[]> {
  return new Promise((resolve, reject) => {
    const submittable = new PipelinedStatements(statements);
    submittable.callback = (error, rows) => (error ? reject(error) : resolve(rows!));
    client.query(submittable as unknown as pg.QueryConfig);
  });
}

/** A server-side error (the connection is fine) as opposed to a broken connection. */
export function isServerError(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError;
}

/** The statements in one implicit transaction, one round trip. */
export async function runPipelined(pool: pg.Pool, statements: Statement[]): Promise<StatementRows[]> {
  const client = await pool.connect();
  try {
    const rows = await send(client, statements);
    client.release();
    return rows;
  } catch (error) {
    client.release(isServerError(error) ? undefined : (error as Error));
    throw error;
  }
}

/**
 * The statements inside BEGIN, then `decide` looks at the results and says whether to
 * commit. Used when PostgREST must roll back after seeing the result (a mutation answered
 * with `single()` that touched other than one row, `Prefer: tx=rollback`): one more round trip.
 */
export async function runDecided<T>(
  pool: pg.Pool,
  statements: Statement[],
  decide: (rows: StatementRows[]) => { commit: boolean; result: T },
): Promise<T> {
  const client = await pool.connect();
  try {
    let rows: StatementRows[];
    try {
      rows = await send(client, [{ text: 'begin', values: [] }, ...statements]);
    } catch (error) {
      if (isServerError(error)) await client.query('rollback');
      throw error;
    }
    let decision: { commit: boolean; result: T };
    try {
      decision = decide(rows.slice(1));
    } catch (error) {
      await client.query('rollback');
      throw error;
    }
    await client.query(decision.commit ? 'commit' : 'rollback');
    client.release();
    return decision.result;
  } catch (error) {
    client.release(isServerError(error) ? undefined : (error as Error));
    throw error;
  }
}
