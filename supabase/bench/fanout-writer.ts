import pg from 'pg';
import { serveParent } from './child-conversation.ts';
import { wallClockMs } from './wall-clock.ts';

/**
 * The heartbeats of `npm run bench fanout` (started by fanout.ts), in a process of their own:
 * the time a commit returned is taken on an event loop that nothing else delays, least of all
 * the gateway under test, which would otherwise make deliveries look faster than they are.
 *
 * Each job beats every `intervalMs`, job i first at i/n of the interval (so the changes are
 * spread evenly, not all at once), through heartbeat_job as the worker calls it: as
 * service_role, one statement in its own transaction. The statement returns after its COMMIT,
 * with synchronous_commit on, as on Supabase (the test cluster turns it off for speed, and then a
 * commit reaches the walsender only when the WAL writer next flushes). Each beat writes the
 * job's next progress value, which names the change in the message it produces.
 */
export interface WriterJob {
  jobId: string;
  leaseToken: string;
  /** The last progress value written. */
  progress: number;
}

export type WriterRequest =
  | { type: 'run'; dbUrl: string; connections: number; jobs: WriterJob[]; phaseMs: number; intervalMs: number; leaseSeconds: number }
  | { type: 'close' };

export type WriterReply =
  | { type: 'ready' }
  | {
      type: 'ran';
      /** [job id, progress, wall-clock ms when the statement returned]. */
      commits: Array<[string, number, number]>;
      fenced: number;
      seconds: number;
      /** Each job's last progress value, in the order given. */
      progress: number[];
    };

let pool: pg.Pool | undefined;

async function run(request: Extract<WriterRequest, { type: 'run' }>): Promise<WriterReply> {
  pool ??= new pg.Pool({
    connectionString: request.dbUrl,
    max: request.connections,
    // As the worker reaches Postgres through the API: the service_role, with its claims.
    options: `-c role=service_role -c request.jwt.claims={"role":"service_role"} -c synchronous_commit=on`,
  } as pg.PoolConfig);
  const { jobs, phaseMs, intervalMs } = request;
  const schedule: Array<{ at: number; job: WriterJob }> = [];
  for (let k = 0; k * intervalMs < phaseMs; k++) {
    jobs.forEach((job, i) => {
      const at = k * intervalMs + (i * intervalMs) / jobs.length;
      if (at < phaseMs) schedule.push({ at, job });
    });
  }
  schedule.sort((a, b) => a.at - b.at);

  const commits: Array<[string, number, number]> = [];
  let fenced = 0;
  const writes: Promise<void>[] = [];
  const started = performance.now();
  for (const { at, job } of schedule) {
    const wait = started + at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const progress = ++job.progress;
    writes.push(
      pool
        .query<{ reply: { fenced: boolean } }>(`select public.heartbeat_job($1, $2, $3, 'generating', $4) as reply`, [
          job.jobId,
          job.leaseToken,
          progress,
          request.leaseSeconds,
        ])
        .then(({ rows }) => {
          const committedAt = wallClockMs();
          if (rows[0]!.reply.fenced) fenced++;
          else commits.push([job.jobId, progress, committedAt]);
        }),
    );
  }
  await Promise.all(writes);
  return { type: 'ran', commits, fenced, seconds: (performance.now() - started) / 1000, progress: jobs.map((j) => j.progress) };
}

serveParent<WriterRequest>(async (message) => {
  if (message.type === 'run') {
    process.send!(await run(message));
  } else {
    await pool?.end();
    process.exit(0);
  }
});
