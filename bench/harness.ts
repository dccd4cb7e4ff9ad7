import { performance } from 'node:perf_hooks';
import type { Catalog } from '../src/catalog/catalog.js';

/** One measured figure; the runner adds the benchmark's name when it prints it. */
export interface Figure {
  metric: string;
  value: number;
  unit: string;
}

/** What the runner gives every benchmark: a migrated database of its own for the whole run. */
export interface BenchContext {
  /** URL of the migrated database; a benchmark opens (and closes) its own pools on it. */
  databaseUrl: string;
  catalog: Catalog;
  /** Unique per run, so that account ids and idempotency keys never collide with earlier runs. */
  runId: string;
  /** Human-readable progress, to stderr. */
  log: (message: string) => void;
}

export interface Benchmark {
  /** Dotted name, as used across issues and in `npm run bench -- NAME`. */
  name: string;
  description: string;
  /**
   * Too long for every run (rollover.100k: hours): `npm run bench` without a name skips it, and so
   * does a prefix (`rollover.*`); only its exact name runs it.
   */
  manual?: boolean;
  run: (context: BenchContext) => Promise<Figure[]>;
}

/** A positive integer from the environment, or the default; anything else is a loud error. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name}=${raw} must be an integer >= ${min}`);
  }
  return value;
}

/** Small, fast, seeded PRNG (mulberry32), so that spread benchmarks pick the same accounts run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank percentile of ascending-sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export interface LoadResult {
  operations: number;
  seconds: number;
  /** Per-operation latencies in milliseconds, sorted ascending. */
  latenciesMs: Float64Array;
}

/**
 * Runs `total` operations from `callers` concurrent loops that share one counter, timing each
 * operation. The first error stops every caller and is rethrown.
 */
export async function runLoad(callers: number, total: number, operation: (index: number) => Promise<unknown>): Promise<LoadResult> {
  const latencies = new Float64Array(total);
  let next = 0;
  let failed = false;
  const caller = async (): Promise<void> => {
    while (!failed && next < total) {
      const index = next++;
      const started = performance.now();
      try {
        await operation(index);
      } catch (error) {
        failed = true;
        throw error;
      }
      latencies[index] = performance.now() - started;
    }
  };
  const started = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(callers, total) }, caller));
  const seconds = (performance.now() - started) / 1000;
  const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected) throw rejected.reason;
  latencies.sort();
  return { operations: total, seconds, latenciesMs: latencies };
}

/** Throughput and latency figures of a load run, named after what one operation is. */
export function loadFigures(result: LoadResult, perSecondMetric: string): Figure[] {
  return [
    { metric: perSecondMetric, value: round(result.operations / result.seconds, 1), unit: '1/s' },
    { metric: 'p50_ms', value: round(percentile(result.latenciesMs, 50), 3), unit: 'ms' },
    { metric: 'p99_ms', value: round(percentile(result.latenciesMs, 99), 3), unit: 'ms' },
  ];
}

/** Samples this process's resident set size until stopped; returns the peak in MiB. */
export function sampleRss(intervalMs = 50): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return round(peak / (1024 * 1024), 1);
    },
  };
}

/** Maps `items` through `work` with at most `concurrency` in flight; the first error is rethrown. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}
