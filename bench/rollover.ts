/**
 * `rollover.10k` and `rollover.100k` (only when named: it takes hours): many accounts whose periods
 * end at the same instant, rolled over by the real worker (`src/worker/main.ts`, a child process)
 * on the Temporal dev server. The two differ only in the number of accounts.
 *
 * 1. A catalog of its own (temporary file) with plans whose period is an ISO duration, the Temporal
 *    dev server (headless, in memory unless BENCH_ROLLOVER_TEMPORAL_DB=file), and the worker.
 * 2. Warm-up: BENCH_ROLLOVER_WARMUP accounts (200) on a one-day plan, opened and not measured. Their
 *    opening rate projects how long opening all accounts takes, which sizes the period: the
 *    shortest plan of the ladder at least 3 times as long, so that the rollover is over well before
 *    the next boundary (BENCH_ROLLOVER_PERIOD_S forces a length).
 * 3. The BENCH_ROLLOVER_ACCOUNTS accounts (10,000 or 100,000) start with the same anchor, chosen
 *    so that the first boundary B falls shortly (25 % + 15 s) after they are projected to be open;
 *    all then share every boundary. They are opened in waves of at most 1,000 at once. If they are
 *    not all open (the allowance of the period from B written ahead) by B, the next boundary is
 *    measured.
 * 4. From B until every account has been renewed, polling PostgreSQL (every 250 ms; 1 s with
 *    100,000 accounts): the allowance that ended at B expired and the allowance of the period after
 *    next written ahead. That is `seconds`.
 * 5. Checks every account's allowance grants (exactly one per period, contiguous, the right length,
 *    expired when ended); the runner then audits the whole ledger.
 *
 * Figures: `seconds` (boundary → all renewed), `accounts_per_s`, `first_s` and `p50_s` (first and
 * half of the accounts renewed). `peak_rss_mb` is the worker process's (kernel high-water mark,
 * VmHWM, over its whole life: workflow bundling and opening included); `rollover_rss_mb` is its
 * highest sampled RSS during the rollover, `idle_rss_mb` its RSS once started, before any account;
 * `temporal_peak_rss_mb` the dev server's, `bench_peak_rss_mb` this process's. CPU figures
 * (`*_cpu_pct`) are averages over the rollover in % of one core (so up to 100 × cores) for the
 * worker, the dev server, PostgreSQL (when embedded), this process, and `other` programs: they
 * show which process is the bottleneck, and whether something else skewed the run. Setup:
 * `period_s`, `open_seconds` and `accounts_opened_per_s` (through the same workflow), and
 * `setup_seconds` (everything before the boundary).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import type { CatalogInput } from '../src/catalog/schema.js';
import { createPool } from '../src/ledger/db.js';
import { startAccount } from '../src/temporal/accounts.js';
import { envInt, mapConcurrent, round, sampleRss, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { clockTicksPerSecond, cpuShares, cpuSnapshot, readMemoryMb } from './proc-stats.js';
import { withTemporalCeilingShare } from './temporal-ceiling.js';
import { pollCount, STALL_MS, startBenchTemporal, startProductWorker, stopWorkerBench, type BenchTemporal, type WorkerProcess } from './worker-process.js';


const FEATURE = 'bench.action';
const WARMUP_PLAN = 'rollover-warmup';
/** Period lengths (seconds) the catalog offers; the bench takes the shortest that fits (hours for 100,000 accounts). */
const PERIOD_LADDER_S = [30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10_800, 14_400, 21_600, 28_800, 43_200];
const ALLOWANCE_CREDITS = 100;
/** Concurrent `startAccount` calls. */
const STARTERS = 32;
/** Accounts being opened at once, at most (see the opening). */
const OPEN_IN_FLIGHT = 1000;
/** Opening rate assumed when there is no warm-up to measure it (accounts per second; 2-core machine). */
const ASSUMED_OPEN_RATE = 10;
/** The accounts must all be open this long before the boundary, or the next boundary is measured. */
const OPEN_GUARD_MS = 1000;
/**
 * How often the ledger is polled, at least; every poll scans the accounts' grants (10–90 ms of
 * PostgreSQL at 10,000 accounts: polled 4 times a second, up to a third of a core taken from what is
 * measured), so it is polled once a second, and less often with more accounts (a tenth of a
 * millisecond per account: 10 s for 100,000). The figures' error is then at most one poll.
 */
const MIN_POLL_MS = 1000;
const SAMPLE_MS = 200;

const planId = (periodS: number): string => `rollover-pt${periodS}s`;

function benchCatalog(periods: readonly number[]): CatalogInput {
  const plan = (name: string, duration: string) => ({
    name,
    features: [FEATURE],
    allowances: [{ credits: ALLOWANCE_CREDITS }],
    period: { rule: 'duration' as const, duration },
  });
  return {
    version: 1,
    features: { [FEATURE]: { name: 'Benchmark action', unitPrice: 1 } },
    plans: {
      [WARMUP_PLAN]: plan('Rollover warm-up (one day)', 'P1D'),
      ...Object.fromEntries(periods.map((lengthS) => [planId(lengthS), plan(`Rollover every ${lengthS} s`, `PT${lengthS}S`)])),
    },
  };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const seconds = (ms: number): number => round(ms / 1000, 2);

// ---------------------------------------------------------------------------------------------
// Ledger probes.

async function countOne(pool: pg.Pool, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, params);
  return rows[0]?.n ?? 0;
}

/** Accounts (by id prefix) that have the allowance of the period starting at `start`. */
function countWithAllowanceFrom(pool: pg.Pool, prefix: string, start: Date): Promise<number> {
  return countOne(
    pool,
    `SELECT count(DISTINCT account_id)::int AS n FROM grants
      WHERE source = 'allowance' AND account_id LIKE $1 AND effective_at = $2`,
    [`${prefix}%`, start],
  );
}

/** Allowance grants (by account id prefix) effective at `start`: cheap, for frequent polling. */
function countAllowancesFrom(pool: pg.Pool, prefix: string, start: Date): Promise<number> {
  return countOne(pool, `SELECT count(*)::int AS n FROM grants WHERE source = 'allowance' AND account_id LIKE $1 AND effective_at = $2`, [`${prefix}%`, start]);
}

/** Accounts renewed at `boundary`: nothing ended by then is left unexpired, and the allowance from `next` is written ahead. */
function countRenewed(pool: pg.Pool, prefix: string, boundary: Date, next: Date): Promise<number> {
  return countOne(
    pool,
    `SELECT count(*)::int AS n FROM (
       SELECT account_id FROM grants WHERE source = 'allowance' AND account_id LIKE $1
        GROUP BY account_id
       HAVING bool_or(effective_at = $3) AND NOT bool_or(expires_at <= $2 AND expired_at IS NULL)) AS renewed`,
    [`${prefix}%`, boundary, next],
  );
}

interface AllowanceCheck {
  accounts: number;
  duplicates: number;
  misaligned: number;
  unexpired: number;
  gapped: number;
  notRenewed: number;
}

/**
 * Every account (by prefix): exactly one allowance grant per period, each exactly one period long
 * and on the shared boundaries, no gap between its first and last, none ended by `boundary` left
 * unexpired, and the last one starting at `next` or later.
 */
async function checkAllowances(pool: pg.Pool, prefix: string, anchor: Date, periodMs: number, boundary: Date, next: Date): Promise<AllowanceCheck> {
  const { rows } = await pool.query<AllowanceCheck>(
    `WITH g AS (
       SELECT account_id, effective_at, expires_at, expired_at FROM grants WHERE source = 'allowance' AND account_id LIKE $1),
     per_account AS (
       SELECT account_id, count(*) AS grants, min(effective_at) AS first, max(effective_at) AS last FROM g GROUP BY account_id)
     SELECT
       (SELECT count(*) FROM per_account)::int AS accounts,
       (SELECT count(*) FROM (SELECT 1 FROM g GROUP BY account_id, effective_at HAVING count(*) > 1) AS d)::int AS duplicates,
       (SELECT count(*) FROM g
         WHERE expires_at IS NULL
            OR round(extract(epoch FROM expires_at - effective_at) * 1000) <> $3
            OR mod(round(extract(epoch FROM effective_at - $2::timestamptz) * 1000), $3) <> 0)::int AS misaligned,
       (SELECT count(*) FROM g WHERE expires_at <= $4 AND expired_at IS NULL)::int AS unexpired,
       (SELECT count(*) FROM per_account
         WHERE grants <> round(extract(epoch FROM last - first) * 1000 / $3) + 1)::int AS gapped,
       (SELECT count(*) FROM per_account WHERE last < $5)::int AS "notRenewed"`,
    [`${prefix}%`, anchor, periodMs, boundary, next],
  );
  const row = rows[0];
  if (!row) throw new Error('invariant: the allowance check returned no row');
  return row;
}

// ---------------------------------------------------------------------------------------------

/** What distinguishes rollover.10k from rollover.100k. */
interface RolloverScale {
  name: string;
  defaultAccounts: number;
}

async function runRollover(context: BenchContext, { name, defaultAccounts }: RolloverScale): Promise<Figure[]> {
  const { log } = context;
  const say = (message: string): void => {
    log(`${name}: ${message}`);
  };
  const benchStarted = performance.now();
  const accounts = envInt('BENCH_ROLLOVER_ACCOUNTS', defaultAccounts);
  const pollMs = Math.max(MIN_POLL_MS, Math.round(accounts / 10));
  const warmup = envInt('BENCH_ROLLOVER_WARMUP', 200, 0);
  const forcedPeriodS = envInt('BENCH_ROLLOVER_PERIOD_S', 0, 0);
  const temporalDb = process.env.BENCH_ROLLOVER_TEMPORAL_DB ?? 'memory';
  if (temporalDb !== 'memory' && temporalDb !== 'file') throw new Error(`BENCH_ROLLOVER_TEMPORAL_DB=${temporalDb} must be "memory" or "file"`);
  const verbose = process.env.BENCH_VERBOSE === '1';
  const ticksPerSecond = clockTicksPerSecond();
  const clientRss = sampleRss();

  const ladder = forcedPeriodS > 0 ? [forcedPeriodS] : PERIOD_LADDER_S;
  const directory = mkdtempSync(join(tmpdir(), 'credits-rollover-'));
  const catalogPath = join(directory, 'catalog.json');
  writeFileSync(catalogPath, JSON.stringify(benchCatalog(ladder), null, 2));
  const prefix = `rollover-${context.runId}-acct-`;
  const warmupPrefix = `rollover-${context.runId}-warmup-`;
  const taskQueue = `rollover-${context.runId}`;

  const pool = createPool({ connectionString: context.databaseUrl, max: 2, applicationName: `bench ${name} probe` });
  let temporal: BenchTemporal | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    temporal = await startBenchTemporal(context, directory, verbose, temporalDb === 'file' ? join(directory, 'temporal.sqlite') : undefined);
    say(`${temporal.description} on ${temporal.address} (pid ${temporal.pid})`);
    worker = await startProductWorker({ databaseUrl: context.databaseUrl, temporal, taskQueue, catalogPath, log, verbose });
    const running = worker;
    const idleRssMb = readMemoryMb(running.pid, 'VmRSS');
    say(`worker pid ${running.pid} polling ${taskQueue}, ${seconds(performance.now() - benchStarted)} s after the start`);
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const roots = { worker: running.pid, temporal: temporal.pid };

    const openAll = async (ids: readonly string[], plan: string, startAt: Date): Promise<void> => {
      await Promise.race([
        running.exited,
        mapConcurrent(ids, STARTERS, (accountId) =>
          startAccount(client, taskQueue, { accountId, planId: plan, seats: 1, timeZone: 'UTC', startAt: startAt.toISOString(), trial: false }),
        ),
      ]);
    };

    // Warm-up: measures how fast accounts open, so the period fits the opening of all of them.
    let openRate = ASSUMED_OPEN_RATE;
    if (warmup > 0) {
      const warmupStart = new Date();
      const started = performance.now();
      await openAll(Array.from({ length: warmup }, (_, index) => `${warmupPrefix}${index}`), WARMUP_PLAN, warmupStart);
      await pollCount({
        probe: () => countWithAllowanceFrom(pool, warmupPrefix, new Date(warmupStart.getTime() + 86_400_000)),
        target: warmup,
        what: 'warm-up accounts open',
        worker: running,
        pollMs,
        log: say,
      });
      openRate = warmup / ((performance.now() - started) / 1000);
      say(`warm-up: ${warmup} accounts opened at ${openRate.toFixed(1)}/s`);
    }
    const projectedOpenMs = (accounts / openRate) * 1000;
    const periodS = ladder.find((candidate) => candidate * 1000 >= projectedOpenMs * 3 + 30_000) ?? ladder[ladder.length - 1] ?? 3600;
    const periodMs = periodS * 1000;
    // The first boundary: shortly after the projected end of the opening (at most one period away).
    const openStart = Date.now();
    let boundaryMs = openStart + Math.min(periodMs, Math.ceil((projectedOpenMs * 1.25 + 15_000) / 1000) * 1000);
    const anchor = new Date(boundaryMs - periodMs);
    say(
      `opening ${accounts} accounts (projected ${seconds(projectedOpenMs)} s) on ${planId(periodS)}; ` +
        `first boundary ${new Date(boundaryMs).toISOString()}`,
    );

    // Open every account, all with the same anchor, and wait until each has the allowance of the
    // period from the boundary written ahead (so it has processed every earlier boundary).
    // In waves of at most OPEN_IN_FLIGHT accounts being opened at once: like sign-ups spread over
    // time, that keeps the worker's and the server's caches warm; the herd is the rollover.
    const openStarted = performance.now();
    const accountIds = Array.from({ length: accounts }, (_, index) => `${prefix}${index}`);
    const probeOpen = (): Promise<number> => Promise.race([countWithAllowanceFrom(pool, prefix, new Date(boundaryMs)), running.exited]);
    let startedCount = 0;
    let openCount = 0;
    let progressAt = performance.now();
    let reportedAt = performance.now();
    while (startedCount < accounts) {
      const room = Math.min(accounts - startedCount, OPEN_IN_FLIGHT - (startedCount - openCount));
      if (room > 0) {
        await openAll(accountIds.slice(startedCount, startedCount + room), planId(periodS), anchor);
        startedCount += room;
      } else {
        await delay(pollMs);
      }
      const count = await probeOpen();
      if (count !== openCount) progressAt = performance.now();
      openCount = count;
      if (performance.now() - reportedAt > 10_000) {
        reportedAt = performance.now();
        say(`accounts open: ${openCount}/${accounts} (${startedCount} started)`);
      }
      if (performance.now() - progressAt > STALL_MS) {
        throw new Error(`accounts open: stuck at ${openCount}/${startedCount} started for ${STALL_MS / 1000} s; the worker's last output:\n${running.tail()}`);
      }
    }
    say(`${accounts} workflows started in ${seconds(performance.now() - openStarted)} s; ${openCount} open`);
    for (;;) {
      const open = await pollCount({
        probe: () => countWithAllowanceFrom(pool, prefix, new Date(boundaryMs)),
        target: accounts,
        until: boundaryMs - OPEN_GUARD_MS,
        what: 'accounts open',
        worker: running,
        pollMs,
        log: say,
      });
      if (open >= accounts) break;
      boundaryMs += periodMs;
      say(`only ${open}/${accounts} accounts open ${OPEN_GUARD_MS} ms before the boundary; measuring the next one, ${new Date(boundaryMs).toISOString()}`);
    }
    const openSeconds = (performance.now() - openStarted) / 1000;
    const boundary = new Date(boundaryMs);
    const next = new Date(boundaryMs + periodMs);
    say(`all open in ${openSeconds.toFixed(1)} s (${(accounts / openSeconds).toFixed(1)}/s); waiting ${seconds(boundaryMs - Date.now())} s for the boundary`);

    // The rollover: from the boundary until every account is renewed.
    await Promise.race([running.exited, delay(boundaryMs - Date.now())]);
    const boundaryPerf = performance.now() - (Date.now() - boundaryMs);
    const setupSeconds = (boundaryPerf - benchStarted) / 1000;
    const cpuBefore = cpuSnapshot(roots, { anyPostgres: false });
    let rolloverRssMb = readMemoryMb(running.pid, 'VmRSS') ?? 0;
    const rssTimer = setInterval(() => {
      rolloverRssMb = Math.max(rolloverRssMb, readMemoryMb(running.pid, 'VmRSS') ?? 0);
    }, SAMPLE_MS);
    let halfAt: number | undefined;
    let firstAt: number | undefined;
    // The workflow expires the ended allowance before it writes the next one ahead, so counting the
    // written-ahead grants (cheap) finds the end; the full condition then confirms it.
    let confirmed = false;
    const probeRenewed = async (): Promise<number> => {
      if (!confirmed) {
        const written = await countAllowancesFrom(pool, prefix, next);
        if (written < accounts) return written;
        confirmed = true;
      }
      return countRenewed(pool, prefix, boundary, next);
    };
    try {
      await pollCount({
        probe: probeRenewed,
        target: accounts,
        what: 'accounts renewed',
        worker: running,
        pollMs,
        onCount: (count, at) => {
          if (count > 0) firstAt ??= at;
          if (count * 2 >= accounts) halfAt ??= at;
        },
        log: say,
      });
    } finally {
      clearInterval(rssTimer);
    }
    const doneAt = performance.now();
    const cpu = cpuShares(cpuBefore, cpuSnapshot(roots, { anyPostgres: false }), ticksPerSecond);
    const rolloverSeconds = (doneAt - boundaryPerf) / 1000;
    const overran = Date.now() >= next.getTime();
    say(
      `${accounts} accounts renewed ${rolloverSeconds.toFixed(2)} s after the boundary; CPU (% of one core, ${availableParallelism()} cores): ` +
        `worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, bench ${cpu.bench}, other programs ${cpu.other}; machine ${cpu.machine}`,
    );
    if (overran) say(`WARNING: the rollover ran past the next boundary (${next.toISOString()}): the next one's load overlapped`);

    const workerPeakMb = readMemoryMb(running.pid, 'VmHWM') ?? rolloverRssMb;
    const temporalPeakMb = readMemoryMb(temporal.pid, 'VmHWM');
    await connection.close();
    connection = undefined;
    const stopStarted = performance.now();
    await running.stop();
    worker = undefined;
    say(`worker stopped in ${seconds(performance.now() - stopStarted)} s`);

    const check = await checkAllowances(pool, prefix, anchor, periodMs, boundary, next);
    const wrong = Object.entries(check).filter(([key, value]) => (key === 'accounts' ? value !== accounts : value !== 0));
    if (wrong.length > 0) throw new Error(`${name}: allowance grants are wrong: ${JSON.stringify(check)} (expected ${accounts} accounts, every other count 0)`);
    say(`every account has exactly one allowance grant per period, each expired at its end up to ${boundary.toISOString()}`);

    return [
      { metric: 'seconds', value: round(rolloverSeconds, 2), unit: 's' },
      { metric: 'accounts_per_s', value: round(accounts / rolloverSeconds, 1), unit: '1/s' },
      ...(firstAt === undefined ? [] : [{ metric: 'first_s', value: round((firstAt - boundaryPerf) / 1000, 2), unit: 's' }]),
      ...(halfAt === undefined ? [] : [{ metric: 'p50_s', value: round((halfAt - boundaryPerf) / 1000, 2), unit: 's' }]),
      { metric: 'peak_rss_mb', value: round(workerPeakMb, 1), unit: 'MB' },
      { metric: 'rollover_rss_mb', value: round(rolloverRssMb, 1), unit: 'MB' },
      ...(idleRssMb === undefined ? [] : [{ metric: 'idle_rss_mb', value: round(idleRssMb, 1), unit: 'MB' }]),
      ...(temporalPeakMb === undefined ? [] : [{ metric: 'temporal_peak_rss_mb', value: round(temporalPeakMb, 1), unit: 'MB' }]),
      { metric: 'bench_peak_rss_mb', value: clientRss.stop(), unit: 'MB' },
      { metric: 'worker_cpu_pct', value: cpu.worker, unit: '%' },
      { metric: 'temporal_cpu_pct', value: cpu.temporal, unit: '%' },
      { metric: 'postgres_cpu_pct', value: cpu.postgres, unit: '%' },
      { metric: 'bench_cpu_pct', value: cpu.bench, unit: '%' },
      { metric: 'other_cpu_pct', value: cpu.other, unit: '%' },
      { metric: 'machine_cpu_pct', value: cpu.machine, unit: '%' },
      { metric: 'accounts', value: accounts, unit: 'accounts' },
      { metric: 'period_s', value: periodS, unit: 's' },
      { metric: 'open_seconds', value: round(openSeconds, 2), unit: 's' },
      { metric: 'accounts_opened_per_s', value: round(accounts / openSeconds, 1), unit: '1/s' },
      { metric: 'setup_seconds', value: round(setupSeconds, 2), unit: 's' },
    ];
  } finally {
    clientRss.stop();
    await stopWorkerBench({ connection, worker, temporal, pool, directory });
  }
}

/** The rollover's figures and its share of temporal.ceiling.boundary for as many workflows. */
async function rolloverAgainstCeiling(context: BenchContext, scale: RolloverScale): Promise<Figure[]> {
  const figures = await runRollover(context, scale);
  const workflows = figures.find((figure) => figure.metric === 'accounts')?.value ?? scale.defaultAccounts;
  return withTemporalCeilingShare(context, { name: 'temporal.ceiling.boundary', workflows }, 'accounts_per_s', figures);
}

const ROLLOVER_SETTINGS = 'BENCH_ROLLOVER_WARMUP 200, BENCH_ROLLOVER_PERIOD_S, BENCH_ROLLOVER_TEMPORAL_DB memory|file';

export const rolloverBenchmarks: Benchmark[] = [
  {
    name: 'rollover.10k',
    description:
      'accounts whose periods end at the same instant, renewed by the real worker on the Temporal dev server: seconds until all are renewed, ' +
      `the worker's peak RSS, CPU per process (BENCH_ROLLOVER_ACCOUNTS 10000, ${ROLLOVER_SETTINGS})`,
    run: (context) => rolloverAgainstCeiling(context, { name: 'rollover.10k', defaultAccounts: 10_000 }),
  },
  {
    name: 'rollover.100k',
    description: `rollover.10k with 100,000 accounts: hours, see README (BENCH_ROLLOVER_ACCOUNTS 100000, ${ROLLOVER_SETTINGS})`,
    manual: true,
    run: (context) => rolloverAgainstCeiling(context, { name: 'rollover.100k', defaultAccounts: 100_000 }),
  },
];
