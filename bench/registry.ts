import type { Benchmark } from './harness.js';
import { httpChargeBenchmarks } from './http-charge.js';
import { ledgerChargeBenchmarks } from './ledger-charge.js';
import { jobEnrichBenchmarks } from './job-enrich.js';
import { ceilingBenchmarks } from './pg-ceiling.js';
import { rolloverBenchmarks } from './rollover.js';

/**
 * Every benchmark `npm run bench` knows, in the order it runs them. To add one (`rollover.10k`,
 * `job.enrich.*`, `http.charge.*`), write a module exporting `Benchmark`s and list them here.
 */
export const BENCHMARKS: readonly Benchmark[] = [...ceilingBenchmarks, ...ledgerChargeBenchmarks, ...httpChargeBenchmarks, ...rolloverBenchmarks, ...jobEnrichBenchmarks];

/**
 * The benchmarks `patterns` select, in registry order: each pattern is an exact name or ends in
 * `*` to select by prefix (`ledger.charge.*`). No pattern selects every benchmark.
 */
export function selectBenchmarks(patterns: readonly string[]): { selected: Benchmark[]; unknown: string[] } {
  if (patterns.length === 0) return { selected: [...BENCHMARKS], unknown: [] };
  const matches = (pattern: string, name: string): boolean =>
    pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
  const unknown = patterns.filter((pattern) => !BENCHMARKS.some((bench) => matches(pattern, bench.name)));
  const selected = BENCHMARKS.filter((bench) => patterns.some((pattern) => matches(pattern, bench.name)));
  return { selected, unknown };
}
