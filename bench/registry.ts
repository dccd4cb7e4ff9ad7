import { accountsOpenBenchmarks } from './accounts-open.js';
import type { Benchmark } from './harness.js';
import { httpCeilingBenchmarks, httpChargeBenchmarks } from './http-charge.js';
import { ledgerChargeBenchmarks } from './ledger-charge.js';
import { jobEnrichBenchmarks } from './job-enrich.js';
import { ceilingBenchmarks } from './pg-ceiling.js';
import { rolloverBenchmarks } from './rollover.js';
import { temporalCeilingBenchmarks } from './temporal-ceiling.js';
import { workflowReplayBenchmarks } from './workflow-replay.js';

/**
 * Every benchmark `npm run bench` knows, in the order it runs them. To add one (`rollover.10k`,
 * `job.enrich.*`, `http.charge.*`), write a module exporting `Benchmark`s and list them here; mark
 * one that takes too long for every run `manual`.
 */
export const BENCHMARKS: readonly Benchmark[] = [
  ...ceilingBenchmarks,
  ...ledgerChargeBenchmarks,
  ...httpCeilingBenchmarks,
  ...httpChargeBenchmarks,
  ...temporalCeilingBenchmarks,
  ...accountsOpenBenchmarks,
  ...rolloverBenchmarks,
  ...workflowReplayBenchmarks,
  ...jobEnrichBenchmarks,
];

/**
 * The benchmarks `patterns` select, in registry order: each pattern is an exact name or ends in
 * `*` to select by prefix (`ledger.charge.*`). No pattern selects every benchmark. A `manual` one
 * only by its exact name, so that neither a plain run nor a prefix starts hours of work unasked.
 * A pattern that selects nothing is `unknown`.
 */
export function selectBenchmarks(patterns: readonly string[]): { selected: Benchmark[]; unknown: string[] } {
  if (patterns.length === 0) return { selected: BENCHMARKS.filter((bench) => bench.manual !== true), unknown: [] };
  const matches = (pattern: string, bench: Benchmark): boolean =>
    pattern.endsWith('*') ? bench.manual !== true && bench.name.startsWith(pattern.slice(0, -1)) : bench.name === pattern;
  const unknown = patterns.filter((pattern) => !BENCHMARKS.some((bench) => matches(pattern, bench)));
  const selected = BENCHMARKS.filter((bench) => patterns.some((pattern) => matches(pattern, bench)));
  return { selected, unknown };
}
