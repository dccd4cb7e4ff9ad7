/**
 * `job.enrich.zero-latency` and `job.enrich.50ms`: one bulk enrichment job (`lead.email-finder`,
 * 60 % verified records, 5 credits each) run end to end by a worker on the Temporal dev server.
 *
 * 1. The workflows are bundled here (webpack), so the worker's memory is the job's, not the bundler's.
 * 2. The Temporal dev server (headless, in memory) and the worker: this file run as a child process
 *    (`--job-enrich-worker`), i.e. `createCreditsWorker` with the simulated provider at the
 *    benchmark's latency and the settings below, on a task queue of its own.
 * 3. An account funded for every record, a warm-up job (BENCH_JOB_WARMUP records, not measured),
 *    then the measured job: its BENCH_JOB_RECORDS records appended in chunks of 10,000 before it
 *    starts, as the API streams them.
 * 4. `seconds`: from `startJob` until the workflow's result (reservation, every batch, release);
 *    `records_per_s` = records / seconds. For 50 ms, `share_of_ideal` = that rate / (concurrency /
 *    latency), the rate of a provider kept busy at full concurrency all the time.
 * 5. Checks that every record has a result, that the ledger charged exactly the verified records
 *    (once each), and the workflow's counters; the runner then audits the whole ledger.
 *
 * `peak_rss_mb` is the worker process's kernel high-water mark (VmHWM); `start_rss_mb` its RSS
 * just before the measured job. CPU figures are averages over the measured job in % of one core
 * (up to 100 × cores) per process group — worker, Temporal dev server, PostgreSQL (when embedded,
 * or any local `postgres` process with DATABASE_URL), this process — to show what limits the rate.
 *
 * Settings (environment): BENCH_JOB_RECORDS (100,000 for both; about 10 s at zero latency and
 * 30 s at 50 ms on two cores), BENCH_JOB_WARMUP (2,000), BENCH_JOB_BATCH_SIZE (records per batch
 * activity, 5,000: the largest allowed), BENCH_JOB_BATCHES_PER_RUN (before continue-as-new; the
 * workflow's default when unset), BENCH_JOB_CONCURRENCY (provider calls in flight per batch, 200),
 * BENCH_JOB_FLUSH_SIZE (results stored and charged per transaction, 1,000),
 * BENCH_JOB_FLUSH_INTERVAL_MS (250).
 *
 * Batches of 5,000 rather than the workflow's default 500 (and flushes of 1,000 rather than the
 * worker's 200): between two batches the provider idles while the last flush is stored, the
 * workflow schedules the next batch and its records are read, so small batches measure that gap
 * more than the engine (with 500: about 4,400 records/s at zero latency and 0.56 of ideal at 50 ms;
 * with 5,000: about 11,000 records/s and 0.84, on two cores).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type pg from 'pg';
import { loadCatalog } from '../src/catalog/catalog.js';
import { startTemporalDevServer, type RunningTemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { createJobStore } from '../src/jobs/jobs.js';
import { JOB_LIMITS } from '../src/contract/limits.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger } from '../src/ledger/ledger.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { startJob } from '../src/temporal/jobs.js';
import { createWorkerDeps } from '../src/worker/deps.js';
import { createCreditsWorker, WORKFLOWS_PATH } from '../src/worker/worker.js';
import { multiplyMicros } from '../src/money.js';
import { envInt, round, sampleRss, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { clockTicksPerSecond, cpuShares, cpuSnapshot, readMemoryMb } from './proc-stats.js';
import { startWorkerProcess, stopWorkerBench, type WorkerProcess } from './worker-process.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const WORKER_FLAG = '--job-enrich-worker';
/** The worker process's settings, as JSON. */
const WORKER_SETTINGS_ENV = 'BENCH_JOB_WORKER_SETTINGS';

const PLAN = 'sales-email-pro';
const FEATURE = 'lead.email-finder';
const ADMIN = 'admin';
const JOB_USER = 'sdr';
/** Share of records the simulated provider verifies (the worker's SIMULATED_VERIFIED_RATE default). */
const VERIFIED_RATE = 0.6;
/** Connections of the worker's pool: one batch runs at a time and its flushes are serialized. */
const WORKER_POOL_MAX = 8;
const WORKER_START_TIMEOUT_MS = 120_000;

interface WorkerSettings {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  workflowCodePath: string;
  latencyMs: number;
  verifiedRate: number;
  batchConcurrency: number;
  flushSize: number;
  flushIntervalMs: number;
}

interface JobEnrichShape {
  name: string;
  latencyMs: number;
  defaultRecords: number;
}

// ---------------------------------------------------------------------------------------------
// The worker: this file run as a child process (`startWorkerProcess`).

/** The child process: a credits worker with the simulated provider; stops on SIGTERM or when the bench goes away. */
async function workerMain(): Promise<void> {
  const raw = process.env[WORKER_SETTINGS_ENV];
  if (raw === undefined) throw new Error(`${WORKER_SETTINGS_ENV} is not set`);
  const settings = JSON.parse(raw) as WorkerSettings;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const catalog = loadCatalog();
  const pool = createPool({ connectionString: settings.databaseUrl, max: WORKER_POOL_MAX, applicationName: 'bench job.enrich worker' });
  const connection = await NativeConnection.connect({ address: settings.temporalAddress });
  try {
    const ledger = createLedger({ pool, catalog });
    const worker = await createCreditsWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      workflowBundle: { codePath: settings.workflowCodePath },
      deps: createWorkerDeps({
        pool,
        ledger,
        catalog,
        provider: createSimulatedProvider(catalog, { verifiedRate: settings.verifiedRate, latencyMs: settings.latencyMs }),
        batchConcurrency: settings.batchConcurrency,
        flushSize: settings.flushSize,
        flushIntervalMs: settings.flushIntervalMs,
      }),
    });
    // The bench gone (its IPC channel closed): stop rather than poll forever.
    process.once('disconnect', () => {
      worker.shutdown();
    });
    const running = worker.run(); // resolves after SIGTERM/SIGINT once in-flight tasks are done
    process.send?.({ ready: true });
    await running;
  } finally {
    await connection.close();
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The dev server, headless and in memory. One retry: the CLI picks its internal services' ports
 * itself and, rarely, one of them collides with the frontend's ("bind: address already in use").
 */
async function startDevServer(name: string, log: (message: string) => void, verbose: boolean): Promise<RunningTemporalDevServer> {
  const options = {
    headless: true,
    ...(verbose
      ? {
          log: (line: string) => {
            log(`temporal: ${line}`);
          },
        }
      : {}),
  };
  try {
    return await startTemporalDevServer(options);
  } catch (error) {
    log(`${name}: WARNING: the Temporal dev server did not start; trying once more: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`);
    return startTemporalDevServer(options);
  }
}

interface RecordFacts {
  stored: number;
  pending: number;
  charged: number;
  charged_credits: number;
  ledger_credits: number;
}

async function recordFacts(pool: pg.Pool, jobId: string): Promise<RecordFacts> {
  const { rows } = await pool.query<RecordFacts>(
    `SELECT count(*) FILTER (WHERE outcome IS NOT NULL)::bigint AS stored,
            count(*) FILTER (WHERE outcome IS NULL)::bigint AS pending,
            count(*) FILTER (WHERE charged > 0)::bigint AS charged,
            coalesce(sum(charged), 0)::bigint AS charged_credits,
            (SELECT coalesce(sum(credits), 0) FROM operations WHERE job_id = $1 AND kind = 'hold_charge')::bigint AS ledger_credits
       FROM job_records WHERE job_id = $1`,
    [jobId],
  );
  const row = rows[0];
  if (!row) throw new Error('invariant: the record facts query returned no row');
  return row;
}

async function runJobEnrich(context: BenchContext, shape: JobEnrichShape): Promise<Figure[]> {
  const { catalog, log, runId } = context;
  const { name, latencyMs } = shape;
  const records = envInt('BENCH_JOB_RECORDS', shape.defaultRecords);
  const warmup = envInt('BENCH_JOB_WARMUP', 2_000, 0);
  const batchSize = envInt('BENCH_JOB_BATCH_SIZE', JOB_LIMITS.maxBatchSize);
  const batchesPerRun = envInt('BENCH_JOB_BATCHES_PER_RUN', 0, 0);
  const concurrency = envInt('BENCH_JOB_CONCURRENCY', 200);
  const flushSize = envInt('BENCH_JOB_FLUSH_SIZE', 1_000);
  const flushIntervalMs = envInt('BENCH_JOB_FLUSH_INTERVAL_MS', 250);
  if (batchSize > JOB_LIMITS.maxBatchSize) throw new Error(`BENCH_JOB_BATCH_SIZE must be at most ${JOB_LIMITS.maxBatchSize}`);
  const verbose = process.env.BENCH_VERBOSE === '1';
  const ticksPerSecond = clockTicksPerSecond();
  const benchRss = sampleRss();

  const feature = catalog.feature(FEATURE);
  const unitPrice = feature ? catalog.unitPrice(feature) : undefined;
  if (unitPrice === undefined) throw new Error(`the catalog has no priced feature "${FEATURE}"`);

  const directory = mkdtempSync(join(tmpdir(), 'credits-job-enrich-'));
  const taskQueue = `${name}-${runId}`;
  const accountId = `${name}-${runId}`;
  const pool = createPool({ connectionString: context.databaseUrl, max: 2, applicationName: `bench ${name}` });
  let temporal: RunningTemporalDevServer | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    const bundleStarted = performance.now();
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
    const workflowCodePath = join(directory, 'workflows.js');
    writeFileSync(workflowCodePath, bundle.code);
    log(`${name}: workflows bundled in ${((performance.now() - bundleStarted) / 1000).toFixed(1)} s`);

    temporal = await startDevServer(name, log, verbose);
    const settings: WorkerSettings = {
      databaseUrl: context.databaseUrl,
      temporalAddress: temporal.address,
      namespace: temporal.namespace,
      taskQueue,
      workflowCodePath,
      latencyMs,
      verifiedRate: VERIFIED_RATE,
      batchConcurrency: concurrency,
      flushSize,
      flushIntervalMs,
    };
    worker = await startWorkerProcess({
      args: [THIS_FILE, WORKER_FLAG],
      env: { [WORKER_SETTINGS_ENV]: JSON.stringify(settings) },
      ready: { kind: 'ipc' }, // workerMain sends it once the worker runs
      startTimeoutMs: WORKER_START_TIMEOUT_MS,
      log,
      verbose,
    });
    const running = worker;
    log(
      `${name}: Temporal dev server ${temporal.address} (pid ${temporal.pid}), worker pid ${running.pid}; ${records} records at ${latencyMs} ms, ` +
        `batch ${batchSize}, ${batchesPerRun > 0 ? batchesPerRun : 'default'} batches per run, concurrency ${concurrency}, flush ${flushSize} / ${flushIntervalMs} ms`,
    );
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });

    // The account, funded for every record of both jobs even if all were verified.
    const ledger = createLedger({ pool, catalog });
    const jobs = createJobStore({ pool, ledger });
    const now = new Date();
    await ledger.createAccount({ accountId, planId: PLAN, users: [{ userId: ADMIN, role: 'admin' }, { userId: JOB_USER, role: 'member' }], now });
    await ledger.topUp({ accountId, userId: ADMIN, credits: multiplyMicros(unitPrice, records + warmup), idempotencyKey: 'bench-funding', now });

    const prepare = async (jobId: string, count: number): Promise<void> => {
      await jobs.createJob({ accountId, jobId, feature: FEATURE, userId: JOB_USER, idempotencyKey: jobId, now: new Date() });
      for (let start = 0; start < count; start += JOB_LIMITS.maxRecordsPerAppend) {
        const chunk = Array.from({ length: Math.min(JOB_LIMITS.maxRecordsPerAppend, count - start) }, (_, index) => {
          const recordId = `${jobId}-lead-${start + index}`;
          return { recordId, input: { email: `${recordId}@example.com` } };
        });
        await jobs.appendRecords({ jobId, records: chunk, now: new Date() });
      }
    };
    const run = async (jobId: string, count: number) => {
      const handle = await startJob(client, taskQueue, { jobId, accountId, feature: FEATURE, batchSize, ...(batchesPerRun > 0 ? { batchesPerRun } : {}) });
      const final = await Promise.race([handle.result(), running.exited]);
      if (final.status !== 'completed') throw new Error(`${name}: job ${jobId} ended ${final.status} (${final.counters.processed}/${count} records processed)`);
      return final;
    };

    const warmupJob = `${name}-${runId}-warmup`;
    const jobId = `${name}-${runId}-job`;
    if (warmup > 0) {
      await prepare(warmupJob, warmup);
      const started = performance.now();
      await run(warmupJob, warmup);
      log(`${name}: warm-up job of ${warmup} records in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    }
    const appendStarted = performance.now();
    await prepare(jobId, records);
    log(`${name}: ${records} records appended in ${((performance.now() - appendStarted) / 1000).toFixed(1)} s`);

    // The measured job.
    const anyPostgres = process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '';
    const roots = { worker: running.pid, temporal: temporal.pid };
    const startRssMb = readMemoryMb(running.pid, 'VmRSS') ?? 0;
    const cpuBefore = cpuSnapshot(roots, { anyPostgres });
    const started = performance.now();
    const final = await run(jobId, records);
    const jobSeconds = (performance.now() - started) / 1000;
    const cpu = cpuShares(cpuBefore, cpuSnapshot(roots, { anyPostgres }), ticksPerSecond);
    const peakRssMb = readMemoryMb(running.pid, 'VmHWM') ?? 0;
    const rate = records / jobSeconds;
    log(
      `${name}: ${records} records in ${jobSeconds.toFixed(2)} s (${rate.toFixed(1)}/s, ${final.batches} batches); CPU (% of one core, ${availableParallelism()} cores): ` +
        `worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, bench ${cpu.bench}, machine ${cpu.machine}`,
    );

    await connection.close();
    connection = undefined;
    await running.stop();
    worker = undefined;

    // Every record has a result; the charged ones at the feature's price, once each, by the ledger.
    const facts = await recordFacts(pool, jobId);
    const problems = [
      facts.stored !== records ? `${facts.stored} of ${records} records have a result` : '',
      facts.pending !== 0 ? `${facts.pending} records are still pending` : '',
      facts.charged_credits !== unitPrice * facts.charged ? `the records say ${facts.charged_credits} micros for ${facts.charged} charged records` : '',
      facts.ledger_credits !== facts.charged_credits ? `the ledger charged ${facts.ledger_credits} micros, the records say ${facts.charged_credits}` : '',
    ].filter((problem) => problem !== '');
    if (problems.length > 0) throw new Error(`${name}: ${problems.join('; ')}`);
    // The workflow's own counters miss the results a failed batch attempt stored before its retry:
    // the money is right (above), but the measured run was not a clean one.
    const { processed, verified, charged } = final.counters;
    if (processed !== records || verified !== facts.charged || charged !== facts.charged_credits) {
      log(
        `${name}: WARNING: the workflow counted ${processed} records, ${verified} verified, ${charged} micros charged; the records say ` +
          `${facts.stored}, ${facts.charged}, ${facts.charged_credits} (a batch activity was retried?)`,
      );
    }

    const figures: Figure[] = [{ metric: 'records_per_s', value: round(rate, 1), unit: '1/s' }];
    if (latencyMs > 0) {
      const ideal = concurrency / (latencyMs / 1000);
      figures.push({ metric: 'share_of_ideal', value: round(rate / ideal, 3), unit: 'ratio' }, { metric: 'ideal_records_per_s', value: round(ideal, 1), unit: '1/s' });
    }
    figures.push(
      { metric: 'seconds', value: round(jobSeconds, 2), unit: 's' },
      { metric: 'records', value: records, unit: 'records' },
      { metric: 'peak_rss_mb', value: round(peakRssMb, 1), unit: 'MB' },
      { metric: 'start_rss_mb', value: round(startRssMb, 1), unit: 'MB' },
      { metric: 'bench_peak_rss_mb', value: benchRss.stop(), unit: 'MB' },
      { metric: 'worker_cpu_pct', value: cpu.worker, unit: '%' },
      { metric: 'temporal_cpu_pct', value: cpu.temporal, unit: '%' },
      { metric: 'postgres_cpu_pct', value: cpu.postgres, unit: '%' },
      { metric: 'machine_cpu_pct', value: cpu.machine, unit: '%' },
    );
    return figures;
  } finally {
    benchRss.stop();
    await stopWorkerBench({ connection, worker, temporal, pool, directory });
  }
}

export const jobEnrichBenchmarks: Benchmark[] = [
  {
    name: 'job.enrich.zero-latency',
    description:
      'one bulk job through the worker (child process) on the Temporal dev server, simulated provider at 0 ms: records/s, worker peak RSS, CPU per process ' +
      '(BENCH_JOB_RECORDS 100000, BENCH_JOB_WARMUP 2000, BENCH_JOB_BATCH_SIZE 5000, BENCH_JOB_BATCHES_PER_RUN, BENCH_JOB_CONCURRENCY 200, BENCH_JOB_FLUSH_SIZE 1000, BENCH_JOB_FLUSH_INTERVAL_MS 250)',
    run: (context) => runJobEnrich(context, { name: 'job.enrich.zero-latency', latencyMs: 0, defaultRecords: 100_000 }),
  },
  {
    name: 'job.enrich.50ms',
    description:
      'as job.enrich.zero-latency with the provider at 50 ms: records/s and share_of_ideal = records/s / (concurrency / 50 ms) (BENCH_JOB_RECORDS 100000, and as above)',
    run: (context) => runJobEnrich(context, { name: 'job.enrich.50ms', latencyMs: 50, defaultRecords: 100_000 }),
  },
];

// `node --import tsx bench/job-enrich.ts --job-enrich-worker`: the worker process of these benchmarks.
if (process.argv[2] === WORKER_FLAG && process.argv[1] !== undefined && resolve(process.argv[1]) === THIS_FILE) {
  workerMain().catch((error: unknown) => {
    process.stderr.write(`ERROR worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
