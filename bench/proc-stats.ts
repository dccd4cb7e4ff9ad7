import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './harness.js';

/** Process and machine figures from /proc, shared by the benchmarks that measure other processes. */

export interface ProcStat {
  ppid: number;
  comm: string;
  /**
   * utime + stime + cutime + cstime, in clock ticks: a process's own CPU and that of its children
   * that exited and were reaped, so that a PostgreSQL backend closed during the measurement (an
   * idle pool connection) still counts, in its postmaster's figure.
   */
  ticks: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]), comm: text.slice(text.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) };
  } catch {
    return undefined; // gone, or no /proc
  }
}

/** VmRSS or VmHWM of a process, in MiB; undefined once it is gone (or without /proc). */
export function readMemoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

export function clockTicksPerSecond(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** Busy (neither idle nor iowait) ticks of the whole machine. */
export function machineBusyTicks(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    return fields.reduce((sum, value) => sum + value, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
  } catch {
    return 0;
  }
}

/** The process groups a worker benchmark splits CPU into. */
export type CpuGroup = 'worker' | 'temporal' | 'postgres' | 'bench' | 'machine';
/** CPU ticks per group so far, and when (performance.now(), ms) they were read. */
export type CpuSnapshot = Record<CpuGroup, number> & { at: number };

/**
 * CPU ticks used so far by the worker and the Temporal dev server (each with its descendants),
 * PostgreSQL, this process, and the whole machine (busy ticks); only the difference between two
 * snapshots means something. PostgreSQL is the `postgres` processes below this process (embedded);
 * with `anyPostgres` every `postgres` process on the machine, for an external database that runs
 * here (another machine's is not seen at all).
 */
export function cpuSnapshot(roots: { worker: number; temporal: number }, { anyPostgres }: { anyPostgres: boolean }): CpuSnapshot {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) stats.set(Number(name), stat);
  }
  const descends = (pid: number, root: number): boolean => {
    for (let current = pid, depth = 0; current > 1 && depth < 64; depth++) {
      if (current === root) return true;
      current = stats.get(current)?.ppid ?? 0;
    }
    return false;
  };
  const snapshot: CpuSnapshot = { worker: 0, temporal: 0, postgres: 0, bench: stats.get(process.pid)?.ticks ?? 0, machine: machineBusyTicks(), at: performance.now() };
  for (const [pid, stat] of stats) {
    if (descends(pid, roots.worker)) snapshot.worker += stat.ticks;
    else if (descends(pid, roots.temporal)) snapshot.temporal += stat.ticks;
    else if (stat.comm === 'postgres' && (anyPostgres || descends(pid, process.pid))) snapshot.postgres += stat.ticks;
  }
  return snapshot;
}

/**
 * Average CPU of each group between two snapshots, in % of one core (up to 100 × cores); `other`
 * is what the machine ran besides the groups meanwhile (other programs skew the figures: compare
 * it between runs).
 */
export function cpuShares(from: CpuSnapshot, to: CpuSnapshot, ticksPerSecond: number): Record<CpuGroup | 'other', number> {
  const elapsed = ((to.at - from.at) / 1000) * ticksPerSecond;
  const share = (ticks: number): number => (elapsed > 0 ? round((100 * Math.max(0, ticks)) / elapsed, 1) : 0);
  const used = (group: CpuGroup): number => to[group] - from[group];
  return {
    worker: share(used('worker')),
    temporal: share(used('temporal')),
    postgres: share(used('postgres')),
    bench: share(used('bench')),
    other: share(used('machine') - used('worker') - used('temporal') - used('postgres') - used('bench')),
    machine: share(used('machine')),
  };
}
