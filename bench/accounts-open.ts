/**
 * `accounts.open`: accounts opened per second through the HTTP API, `POST /v1/accounts`, from
 * BENCH_CALLERS (32) concurrent callers, on the topology of production: the API in this process
 * (`startApiServer`, as `npm run api` builds it, on a pool of BENCH_CALLERS connections), the real
 * worker (`src/worker/main.ts`) as a child process, the Temporal dev server (headless, in memory; the
 * real server with BENCH_TEMPORAL=server), and the runner's PostgreSQL. The route creates the account in the ledger, then opens it with
 * update-with-start of the account workflow, which answers once the first period's allowance and
 * the next one's (written ahead) are in the ledger; so one answer is one whole opening.
 *
 * 1. A catalog of its own (temporary file, read by the API and the worker alike): one plan with one
 *    allowance, monthly from the opening, no trial, so that every account must end up with exactly
 *    two allowance grants.
 * 2. Warm-up: BENCH_WARMUP accounts (100), not measured: the worker's workflow cache and the
 *    keep-alive sockets (one per caller, node:http) are then in place, as in a running service.
 * 3. The BENCH_ACCOUNTS measured accounts (2,000), each a fresh id, from BENCH_CALLERS callers.
 *    Every answer (warm-up included) must be 201 with the account `active` and its `period` set;
 *    anything else (another status, an account still `opening` because the workflow did not
 *    answer within the gateway's deadline, a network error) counts in `errors` rather than
 *    stopping the run, so that a slow system still shows its rate, and the first few are logged.
 * 4. Checks every account in the ledger: exactly two allowance grants of the plan's amount, the
 *    first from the account's start, the second from the first's end, neither expired (with
 *    errors, after waiting for the late workflows to write theirs); the runner then audits the
 *    whole ledger.
 *
 * Figures: `accounts_per_s`, `p50_ms` and `p99_ms` (one POST, answer included), `errors`. CPU
 * figures (`*_cpu_pct`) are averages over the measured accounts in % of one core (so up to
 * 100 × cores) for the worker, the dev server, PostgreSQL (when embedded), this process (the API
 * and the callers together: they share it as `http.charge.*` do) and `other` programs, as in
 * rollover.10k: they show which process limits the rate. `worker_peak_rss_mb` and
 * `temporal_peak_rss_mb` are the kernel's high-water marks (VmHWM) over their whole life;
 * `peak_rss_mb` (added by the runner) is this process's.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { pino } from 'pino';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer, type RunningApi } from '../src/api/server.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import type { CatalogInput } from '../src/catalog/schema.js';
import { createPool } from '../src/ledger/db.js';
import { MICROS_PER_CREDIT } from '../src/money.js';
import { envInt, loadFigures, round, runLoad, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { BENCH_API_TOKEN, postJson, type HttpAnswer } from './http-client.js';
import { clockTicksPerSecond, cpuShares, cpuSnapshot, readMemoryMb } from './proc-stats.js';
import { withTemporalCeilingShare } from './temporal-ceiling.js';
import { startBenchTemporal, startProductWorker, stopWorkerBench, type BenchTemporal, type WorkerProcess } from './worker-process.js';

const NAME = 'accounts.open';

const FEATURE = 'bench.action';
const PLAN = 'open-monthly';
const ALLOWANCE_CREDITS = 100;
/** Wrong answers shown in the log: enough to see what went wrong, not a flood. */
const LOGGED_ERRORS = 5;
/** With errors, how long the ledger check waits without progress for late workflows to write their grants. */
const LATE_GRANTS_WAIT_MS = 30_000;
const POLL_MS = 250;

function benchCatalog(): CatalogInput {
  return {
    version: 1,
    features: { [FEATURE]: { name: 'Benchmark action', unitPrice: 1 } },
    plans: {
      [PLAN]: {
        name: 'Opening benchmark (monthly from the opening)',
        features: [FEATURE],
        allowances: [{ credits: ALLOWANCE_CREDITS }],
        period: { rule: 'anniversary_months', months: 1 },
      },
    },
  };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Why an answer to opening `accountId` is not a fresh, open account; undefined when it is. */
function wrongAnswer(answer: HttpAnswer, accountId: string): string | undefined {
  if (answer.status !== 201) return `answered ${answer.status}: ${answer.body}`;
  let view: { accountId?: unknown; status?: unknown; period?: unknown };
  try {
    view = JSON.parse(answer.body) as typeof view;
  } catch {
    return `answered 201 with a body that is not JSON: ${answer.body}`;
  }
  if (view.accountId !== accountId || view.status !== 'active' || typeof view.period !== 'object' || view.period === null) {
    return `answered 201 but not an open account: ${answer.body}`;
  }
  return undefined;
}

interface OpeningCheck {
  accounts: number;
  /** Accounts without exactly two allowance grants. */
  wrongCount: number;
  /** Of those with two: the first not from the account's start, or the second not from the first's end. */
  notContiguous: number;
  wrongAmount: number;
  expired: number;
}

/** The opened accounts (by id prefix) and their allowance grants, as the check above says. */
async function checkOpenings(pool: pg.Pool, prefix: string): Promise<OpeningCheck> {
  const { rows } = await pool.query<OpeningCheck>(
    `WITH per_account AS (
       SELECT a.account_id, a.created_at, count(g.grant_id) AS grants,
              array_agg(g.effective_at ORDER BY g.effective_at) AS starts,
              array_agg(g.expires_at ORDER BY g.effective_at) AS ends,
              bool_and(g.amount = $2::bigint) AS amounts_right,
              bool_or(g.expired_at IS NOT NULL) AS any_expired
         FROM accounts a LEFT JOIN grants g ON g.account_id = a.account_id AND g.source = 'allowance'
        WHERE a.account_id LIKE $1
        GROUP BY a.account_id, a.created_at)
     SELECT count(*)::int AS accounts,
            count(*) FILTER (WHERE grants <> 2)::int AS "wrongCount",
            count(*) FILTER (WHERE grants = 2 AND (starts[1] <> created_at OR ends[1] IS DISTINCT FROM starts[2] OR ends[2] IS NULL))::int AS "notContiguous",
            count(*) FILTER (WHERE grants > 0 AND NOT amounts_right)::int AS "wrongAmount",
            count(*) FILTER (WHERE any_expired)::int AS expired
       FROM per_account`,
    [`${prefix}%`, String(ALLOWANCE_CREDITS * MICROS_PER_CREDIT)],
  );
  const row = rows[0];
  if (!row) throw new Error('invariant: the opening check returned no row');
  return row;
}

/** The check once the late workflows are done: every account has its grants, or none got more for LATE_GRANTS_WAIT_MS. */
async function settledCheck(pool: pg.Pool, prefix: string): Promise<OpeningCheck> {
  let check = await checkOpenings(pool, prefix);
  let progressAt = performance.now();
  while (check.wrongCount > 0 && performance.now() - progressAt < LATE_GRANTS_WAIT_MS) {
    await delay(POLL_MS);
    const next = await checkOpenings(pool, prefix);
    if (next.wrongCount !== check.wrongCount) progressAt = performance.now();
    check = next;
  }
  return check;
}

async function runAccountsOpen(context: BenchContext): Promise<Figure[]> {
  const { log } = context;
  const callers = envInt('BENCH_CALLERS', 32);
  const accounts = envInt('BENCH_ACCOUNTS', 2000);
  const warmup = envInt('BENCH_WARMUP', 100, 0);
  const verbose = process.env.BENCH_VERBOSE === '1';
  const ticksPerSecond = clockTicksPerSecond();

  const directory = mkdtempSync(join(tmpdir(), 'credits-accounts-open-'));
  const catalogPath = join(directory, 'catalog.json');
  writeFileSync(catalogPath, JSON.stringify(benchCatalog(), null, 2));
  const catalog = loadCatalog(catalogPath);
  const prefix = `open-${context.runId}-`;
  const taskQueue = `accounts-open-${context.runId}`;

  // The API's pool, sized like the charge benchmarks' (one connection per caller); the ledger check uses it too.
  const pool = createPool({ connectionString: context.databaseUrl, max: callers, applicationName: `bench ${NAME} api` });
  // One socket per caller, opened during the warm-up so that connecting is not measured.
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  let temporal: BenchTemporal | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  let api: RunningApi | undefined;
  try {
    temporal = await startBenchTemporal(context, directory, verbose);
    log(`${NAME}: ${temporal.description} on ${temporal.address} (pid ${temporal.pid})`);
    worker = await startProductWorker({ databaseUrl: context.databaseUrl, temporal, taskQueue, catalogPath, log, verbose });
    const running = worker;
    connection = await Connection.connect({ address: temporal.address });
    api = await startApiServer(
      createApiDeps({
        pool,
        catalog,
        client: new Client({ connection, namespace: temporal.namespace }),
        taskQueue,
        tokens: [{ scope: 'admin', token: BENCH_API_TOKEN }],
        // Request logging off (one info line per request would be measured too); warnings to stderr.
        logger: pino({ level: 'warn' }, pino.destination(2)),
      }),
      { port: 0 },
    );
    log(`${NAME}: API on ${api.url}, worker pid ${running.pid} polling ${taskQueue}; ${warmup} warm-up + ${accounts} accounts from ${callers} callers`);

    const accountsUrl = new URL('/v1/accounts', api.url);
    let errors = 0;
    const openOne = async (accountId: string): Promise<void> => {
      let problem: string | undefined;
      try {
        problem = wrongAnswer(await postJson(agent, accountsUrl, JSON.stringify({ accountId, planId: PLAN })), accountId);
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      if (problem === undefined) return;
      errors += 1;
      if (errors <= LOGGED_ERRORS) log(`${NAME}: ERROR opening ${accountId}: ${problem}`);
    };
    // A dead worker would only show as every opening timing out: fail at once instead.
    const whileWorkerRuns = <T>(work: Promise<T>): Promise<T> => Promise.race([running.exited, work]);

    if (warmup > 0) {
      const warm = await whileWorkerRuns(runLoad(callers, warmup, (index) => openOne(`${prefix}warmup-${index}`)));
      log(`${NAME}: warm-up: ${warmup} accounts at ${(warmup / warm.seconds).toFixed(1)}/s`);
    }
    const cpuBefore = cpuSnapshot({ worker: running.pid, temporal: temporal.pid }, { anyPostgres: false });
    const result = await whileWorkerRuns(runLoad(callers, accounts, (index) => openOne(`${prefix}acct-${index}`)));
    const cpu = cpuShares(cpuBefore, cpuSnapshot({ worker: running.pid, temporal: temporal.pid }, { anyPostgres: false }), ticksPerSecond);
    log(
      `${NAME}: ${accounts} accounts in ${result.seconds.toFixed(2)} s (${(accounts / result.seconds).toFixed(1)}/s), ${errors} error(s); ` +
        `CPU (% of one core, ${availableParallelism()} cores): worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, ` +
        `bench (API + callers) ${cpu.bench}, other programs ${cpu.other}; machine ${cpu.machine}`,
    );
    const workerPeakMb = readMemoryMb(running.pid, 'VmHWM');
    const temporalPeakMb = readMemoryMb(temporal.pid, 'VmHWM');

    // With errors, an answer that was not an open account may still become one once its workflow catches up.
    const expected = warmup + accounts;
    const check = errors > 0 ? await settledCheck(pool, prefix) : await checkOpenings(pool, prefix);
    const wrong = Object.entries(check).filter(([key, value]) => (key === 'accounts' ? value !== expected : value !== 0));
    if (wrong.length > 0) throw new Error(`${NAME}: the opened accounts' allowance grants are wrong: ${JSON.stringify(check)} (expected ${expected} accounts, every other count 0)`);
    log(`${NAME}: every one of the ${expected} accounts has exactly two allowance grants: its first period and the next, written ahead`);

    return [
      ...loadFigures(result, 'accounts_per_s'),
      { metric: 'errors', value: errors, unit: 'answers' },
      { metric: 'worker_cpu_pct', value: cpu.worker, unit: '%' },
      { metric: 'temporal_cpu_pct', value: cpu.temporal, unit: '%' },
      { metric: 'postgres_cpu_pct', value: cpu.postgres, unit: '%' },
      { metric: 'bench_cpu_pct', value: cpu.bench, unit: '%' },
      { metric: 'other_cpu_pct', value: cpu.other, unit: '%' },
      { metric: 'machine_cpu_pct', value: cpu.machine, unit: '%' },
      ...(workerPeakMb === undefined ? [] : [{ metric: 'worker_peak_rss_mb', value: round(workerPeakMb, 1), unit: 'MB' }]),
      ...(temporalPeakMb === undefined ? [] : [{ metric: 'temporal_peak_rss_mb', value: round(temporalPeakMb, 1), unit: 'MB' }]),
      { metric: 'accounts', value: accounts, unit: 'accounts' },
      { metric: 'callers', value: callers, unit: 'callers' },
    ];
  } finally {
    agent.destroy();
    // The API first: its health watch polls the dev server through the connection closed next.
    await api?.close();
    await stopWorkerBench({ connection, worker, temporal, pool, directory });
  }
}

export const accountsOpenBenchmarks: Benchmark[] = [
  {
    name: NAME,
    description:
      'accounts opened per second through POST /v1/accounts (in-process API, real worker, Temporal dev server), p50/p99, errors, CPU per process ' +
      '(BENCH_CALLERS 32, BENCH_ACCOUNTS 2000, BENCH_WARMUP 100)',
    run: async (context) => withTemporalCeilingShare(context, { name: 'temporal.ceiling.open' }, 'accounts_per_s', await runAccountsOpen(context)),
  },
];
