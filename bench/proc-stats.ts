import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
