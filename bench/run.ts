/**
 * `npm run bench [-- NAME|PREFIX* ...]`: runs the registered benchmarks (all, or those named; a
 * `manual` one such as rollover.100k only by its exact name) and prints one JSON object per figure
 * per line on stdout; progress goes to stderr. After each benchmark the ledger audit runs on the
 * whole database, and a failed audit fails the run.
 *
 * Database: DATABASE_URL (migrated here) if set, else a fresh embedded PostgreSQL with its default,
 * durable settings, stopped and removed at the end. BENCH_VERBOSE=1 shows PostgreSQL and migration logs.
 *
 * Counts (defaults per benchmark; see `--list`): BENCH_CALLERS (concurrent callers, 32),
 * BENCH_CHARGES and BENCH_WARMUP (hot 2000 + 200, spread 5000 + 500), BENCH_ACCOUNTS (spread, 1000),
 * BENCH_SEED (which accounts the spread benchmark draws, 1), alike for `ledger.charge.*` and
 * `http.charge.*` (bench/http-charge.ts: the same charges through an in-process API).
 * accounts.open: BENCH_CALLERS, BENCH_ACCOUNTS (2000) and BENCH_WARMUP (100) accounts opened
 * (bench/accounts-open.ts). rollover.10k and rollover.100k: BENCH_ROLLOVER_ACCOUNTS (10000, 100000),
 * BENCH_ROLLOVER_WARMUP, BENCH_ROLLOVER_PERIOD_S, BENCH_ROLLOVER_TEMPORAL_DB (bench/rollover.ts).
 * temporal.ceiling.open and temporal.ceiling.boundary take the counts of accounts.open and of the
 * rollovers (bench/temporal-ceiling.ts). BENCH_TEMPORAL=server: the worker benches on the real server.
 * `npm run -s bench` keeps npm's own banner off stdout, leaving only JSON lines there.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createDatabase, startEmbeddedPostgres, type EmbeddedPostgresOptions } from '../src/devstack/postgres.js';
import { auditLedger } from '../src/ledger/audit.js';
import { createPool } from '../src/ledger/db.js';
import { migrate } from '../src/ledger/migrate.js';
import { round, sampleRss, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { BENCHMARKS, selectBenchmarks } from './registry.js';

const BENCH_DATABASE = 'credits_bench';
const verbose = process.env.BENCH_VERBOSE === '1';

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function emit(bench: string, figure: Figure): void {
  process.stdout.write(`${JSON.stringify({ bench, metric: figure.metric, value: figure.value, unit: figure.unit })}\n`);
}

function listing(): string {
  const width = Math.max(...BENCHMARKS.map((bench) => bench.name.length));
  return BENCHMARKS.map((bench) => `  ${bench.name.padEnd(width)}  ${bench.manual === true ? '(only when named) ' : ''}${bench.description}`).join('\n');
}

/** Other work on the machine skews every figure; the load average in the log shows when it did. */
function loadAverage(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

interface Database {
  url: string;
  close: () => Promise<void>;
}

async function openDatabase(): Promise<Database> {
  const migrationLog = verbose
    ? (line: string) => {
        log(`migrate: ${line}`);
      }
    : () => undefined;
  const external = process.env.DATABASE_URL;
  if (external) {
    log('using DATABASE_URL');
    const applied = await migrate(external, migrationLog);
    log(`migrations applied: ${applied.length}`);
    return { url: external, close: () => Promise.resolve() };
  }
  const options: EmbeddedPostgresOptions = verbose
    ? {
        log: (line) => {
          log(`postgres: ${line}`);
        },
      }
    : {};
  const server = await startEmbeddedPostgres(options);
  log(`embedded PostgreSQL on port ${server.port} (durable settings), data in ${server.dataDir}`);
  try {
    const url = await createDatabase(server.url, BENCH_DATABASE);
    const applied = await migrate(url, migrationLog);
    log(`database ${BENCH_DATABASE} migrated (${applied.length} migrations)`);
    return { url, close: server.stop };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Runs one benchmark, audits the ledger, then prints its figures; throws if anything fails. */
async function runOne(bench: Benchmark, context: BenchContext): Promise<void> {
  log(`${bench.name}: starting (load average ${loadAverage()})`);
  const rss = sampleRss();
  let measured: Figure[];
  let peakRssMb: number;
  try {
    measured = await bench.run(context);
  } finally {
    peakRssMb = rss.stop();
  }
  // Of this Node process (client side, setup included), not of PostgreSQL; in MiB. A benchmark that
  // measures another process (rollover.10k: the worker) reports its own `peak_rss_mb` instead.
  const figures = measured.some((figure) => figure.metric === 'peak_rss_mb')
    ? measured
    : [...measured, { metric: 'peak_rss_mb', value: peakRssMb, unit: 'MB' }];
  const auditPool = createPool({ connectionString: context.databaseUrl, max: 1, applicationName: 'bench audit', statementTimeoutMs: 0 });
  try {
    const started = performance.now();
    const report = await auditLedger(auditPool);
    const seconds = round((performance.now() - started) / 1000, 2);
    if (!report.ok) {
      for (const problem of report.problems) {
        log(`AUDIT ${problem.check}: account ${problem.accountId}, ${problem.subject}: ${problem.detail}`);
      }
      throw new Error(`${bench.name}: the ledger audit found ${report.problems.length} problem(s); figures withheld`);
    }
    const { checked } = report;
    log(`${bench.name}: done (load average ${loadAverage()}); audit ok in ${seconds} s (${checked.accounts} accounts, ${checked.operations} operations, ${checked.entries} entries)`);
    // What this bench wrote is vacuumed and analysed now, between benches: left to autovacuum, it is
    // done during the next bench (after the 100,000 hot charges, during http.charge.spread, whose
    // PostgreSQL then cost 25 % more per charge than the same load a minute earlier).
    const vacuumStarted = performance.now();
    await auditPool.query('VACUUM (ANALYZE)');
    log(`${bench.name}: database vacuumed and analysed in ${round((performance.now() - vacuumStarted) / 1000, 2)} s`);
  } finally {
    await auditPool.end();
  }
  for (const figure of figures) emit(bench.name, figure);
}

async function main(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h') || args.includes('--list')) {
    log(`usage: npm run bench [-- NAME|PREFIX* ...]\nbenchmarks:\n${listing()}`);
    return 0;
  }
  const { selected, unknown } = selectBenchmarks(args);
  if (unknown.length > 0) {
    log(`unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nbenchmarks:\n${listing()}`);
    return 2;
  }
  log(`node ${process.version}, ${availableParallelism()} CPUs, load average ${loadAverage()}`);
  const catalog = loadCatalog();
  const database = await openDatabase();
  try {
    const context: BenchContext = { databaseUrl: database.url, catalog, runId: randomBytes(4).toString('hex'), log };
    for (const bench of selected) await runOne(bench, context);
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
