import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';

/**
 * CPU time spent while a benchmark step ran, from /proc: the Postgres cluster's (the postmaster,
 * every backend it has reaped, and every one still running) and this Node process's, plus what
 * the rest of the machine took meanwhile: other processes' CPU and steal (CPU the hypervisor gave
 * to other guests). On a shared machine the wall clock of a run swings with its neighbours; CPU
 * time per job moves far less, and the other two figures say how much of a slow run was the
 * neighbours. Linux only: elsewhere every figure is null.
 */
export interface CpuSample {
  postgresMs: number;
  nodeMs: number;
  /** Every core's busy time (user, nice, system, irq, softirq), whoever spent it. */
  machineBusyMs: number;
  stealMs: number;
  at: number;
}

export interface CpuUse {
  postgres_us_per_job: number | null;
  node_us_per_job: number | null;
  /** Share of the run's wall time, over all cores, that processes other than the cluster and this one used. */
  others_cpu_percent: number | null;
  /** Share of the run's wall time, over all cores, the hypervisor gave to other guests. */
  steal_percent: number | null;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function fields(pid: number | string): string[] {
  // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * User plus system CPU time one process has used so far, in ms; null off Linux or once it has
 * ended. Fields after the state, 0-based: 11 utime, 12 stime.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const f = fields(pid);
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

export class CpuMeter {
  private constructor(private readonly postmaster: number | null) {}

  /** Finds the cluster's postmaster as the parent of a backend of `url`. */
  static async forCluster(url: string): Promise<CpuMeter> {
    if (!fs.existsSync('/proc/self/stat')) return new CpuMeter(null);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      return new CpuMeter(Number(fields(rows[0]!.pid)[1]));
    } finally {
      await client.end();
    }
  }

  sample(): CpuSample | null {
    if (this.postmaster === null) return null;
    // Fields after the state, 0-based: 1 ppid, 11 utime, 12 stime, 13 cutime, 14 cstime.
    const own = fields(this.postmaster);
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = fields(entry);
        if (Number(f[1]) === this.postmaster) ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // The process ended between the listing and the read; its time is in cutime now.
      }
    }
    // "cpu user nice system idle iowait irq softirq steal ...", in ticks over all cores.
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    const busy = cpu[1]! + cpu[2]! + cpu[3]! + cpu[6]! + cpu[7]!;
    const usage = process.cpuUsage();
    return {
      postgresMs: ticks * TICK_MS,
      nodeMs: (usage.user + usage.system) / 1000,
      machineBusyMs: busy * TICK_MS,
      stealMs: (cpu[8] ?? 0) * TICK_MS,
      at: performance.now(),
    };
  }

  static between(before: CpuSample | null, after: CpuSample | null, jobs: number): CpuUse {
    if (!before || !after) return { postgres_us_per_job: null, node_us_per_job: null, others_cpu_percent: null, steal_percent: null };
    const capacityMs = (after.at - before.at) * os.cpus().length;
    const postgresMs = after.postgresMs - before.postgresMs;
    const nodeMs = after.nodeMs - before.nodeMs;
    const othersMs = Math.max(0, after.machineBusyMs - before.machineBusyMs - postgresMs - nodeMs);
    return {
      postgres_us_per_job: Math.round((postgresMs * 1000) / jobs),
      node_us_per_job: Math.round((nodeMs * 1000) / jobs),
      others_cpu_percent: Math.round((othersMs / capacityMs) * 100),
      steal_percent: Math.round(((after.stealMs - before.stealMs) / capacityMs) * 100),
    };
  }
}
