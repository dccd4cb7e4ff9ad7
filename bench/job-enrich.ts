/**
 * `job.enrich.zero-latency` and `job.enrich.50ms`: one bulk enrichment job (`lead.email-finder`,
 * 60 % verified records, 5 credits each) run end to end by a worker on Temporal (step 2);
 * `job.enrich.parallel`: four jobs at once, on one account and then on four accounts.
 *
 * 1. The workflows are bundled here (webpack), so the worker's memory is the job's, not the bundler's.
 * 2. The Temporal dev server (headless, in memory), or with BENCH_TEMPORAL=server the real Temporal
 *    server of the production topology on the bench's PostgreSQL, and the worker: this file run as a child process
 *    (`--job-enrich-worker`), i.e. `createCreditsWorker` with the simulated provider at the
 *    benchmark's latency and the settings below, on a task queue of its own. The provider takes at
 *    most BENCH_JOB_CONCURRENCY calls at once across every batch of the worker, as a real one does
 *    (the HTTP provider's ENRICHMENT_CONCURRENCY): batches run in parallel share it.
 * 3. An account funded for every record, a warm-up job (BENCH_JOB_WARMUP records, not measured),
 *    then the measured job(s): their records appended in chunks of 10,000 before they start, as the
 *    API streams them.
 * 4. `seconds`: from starting the job(s) until the last workflow's result (reservation, every batch,
 *    release); `records_per_s` = records / seconds. For 50 ms, `share_of_ideal` = that rate /
 *    (concurrency / latency), the rate of a provider kept busy at full concurrency all the time.
 * 5. Checks that every record has a result, that the ledger charged exactly the verified records
 *    (once each), and the workflows' counters; the runner then audits the whole ledger.
 *
 * `peak_rss_mb` is the worker process's kernel high-water mark (VmHWM); `start_rss_mb` its RSS
 * just before the measured job. CPU figures are averages over the measured job in % of one core
 * (up to 100 × cores) per process group — worker, Temporal dev server, PostgreSQL (when embedded,
 * or any local `postgres` process with DATABASE_URL), this process, and `other`: what else the
 * machine ran meanwhile — to show what limits the rate.
 *
 * Settings (environment): BENCH_JOB_RECORDS (100,000 for the single-job benchmarks; about 4 s at
 * zero latency and 26 s at 50 ms on two cores), BENCH_JOB_WARMUP (2,000), BENCH_JOB_BATCH_SIZE
 * (records per batch activity, 5,000: the largest allowed), BENCH_JOB_BATCHES_PER_RUN (before
 * continue-as-new; the workflow's default when unset), BENCH_JOB_CONCURRENCY (provider calls in
 * flight, 200: per batch, and for the whole worker), BENCH_JOB_PARALLEL_BATCHES (batches of one job
 * at once, the worker's JOB_PARALLEL_BATCHES: 4), BENCH_JOB_IN_FLIGHT (records a batch has read and
 * not yet stored, JOB_MAX_IN_FLIGHT_RECORDS: the worker's default), BENCH_JOB_FLUSH_SIZE (results
 * stored and charged per transaction, 1,000), BENCH_JOB_FLUSH_INTERVAL_MS (250). For
 * `job.enrich.parallel`: BENCH_JOB_PARALLEL_JOBS (4), BENCH_JOB_PARALLEL_RECORDS (records per job,
 * 50,000), BENCH_JOB_PARALLEL_LATENCY_MS (0). BENCH_JOB_WORKER_HEAP_MB: the worker's V8 old-space
 * limit (`--max-old-space-size`; Node's default when unset).
 *
 * Batches of 5,000 rather than the workflow's default 2,000: each batch costs a workflow task, an
 * activity and a read of its budget. Several batches of a job at once hide that gap, and the
 * pipeline in each batch keeps the provider busy while its results are stored.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type pg from 'pg';
import { loadCatalog } from '../src/catalog/catalog.js';
import { WORKER_DEFAULTS } from '../src/config.js';
import { createJobStore, type JobStore } from '../src/jobs/jobs.js';
import { JOB_LIMITS } from '../src/contract/limits.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger, type Ledger } from '../src/ledger/ledger.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { startJob } from '../src/temporal/jobs.js';
import { createWorkerDeps, JOB_BATCH_DEFAULTS } from '../src/worker/deps.js';
import { WORKFLOWS_PATH } from '../src/worker/workflow-code.js';
import { createCreditsWorker } from '../src/worker/worker.js';
import { multiplyMicros, type Micros } from '../src/money.js';
import type { JobResult } from '../workflows/job-messages.js';
import { envInt, round, sampleRss, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { clockTicksPerSecond, cpuShares, cpuSnapshot, readMemoryMb } from './proc-stats.js';
import { runBenchWorkerProcess, startBenchTemporal, startWorkerProcess, stopWorkerBench, type BenchTemporal, type WorkerProcess } from './worker-process.js';

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
/** Batches of one job at once, unless BENCH_JOB_PARALLEL_BATCHES says otherwise. */
const PARALLEL_BATCHES = 4;
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
  parallelBatches: number;
  maxInFlightRecords: number;
}

// ---------------------------------------------------------------------------------------------
// The worker: this file run as a child process (`startWorkerProcess`).

/** The child process: a credits worker with the simulated provider; stops on SIGTERM or when the bench goes away. */
async function workerMain(): Promise<void> {
  const raw = process.env[WORKER_SETTINGS_ENV];
  if (raw === undefined) throw new Error(`${WORKER_SETTINGS_ENV} is not set`);
  const settings = JSON.parse(raw) as WorkerSettings;
  const catalog = loadCatalog();
  const pool = createPool({ connectionString: settings.databaseUrl, max: WORKER_DEFAULTS.databasePoolSize, applicationName: 'bench job.enrich worker' });
  try {
    await runBenchWorkerProcess(settings.temporalAddress, (connection) =>
      createCreditsWorker({
        connection,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        workflowBundle: { codePath: settings.workflowCodePath },
        deps: createWorkerDeps({
          pool,
          ledger: createLedger({ pool, catalog }),
          catalog,
          provider: createSimulatedProvider(catalog, { verifiedRate: settings.verifiedRate, latencyMs: settings.latencyMs, concurrency: settings.batchConcurrency }),
          batchConcurrency: settings.batchConcurrency,
          flushSize: settings.flushSize,
          flushIntervalMs: settings.flushIntervalMs,
          parallelBatches: settings.parallelBatches,
          maxInFlightRecords: settings.maxInFlightRecords,
        }),
      }),
    );
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------

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

/** The job settings every job.enrich benchmark reads from the environment. */
interface JobShape {
  batchSize: number;
  batchesPerRun: number;
  concurrency: number;
}

/** A worker (child process) on a dev server of its own, and what the bench uses to drive jobs through it. */
interface EnrichRig {
  name: string;
  pool: pg.Pool;
  ledger: Ledger;
  jobs: JobStore;
  client: Client;
  taskQueue: string;
  worker: WorkerProcess;
  temporal: BenchTemporal;
  unitPrice: Micros;
  shape: JobShape;
}

/** What a measured run of jobs came to. */
interface Measured {
  seconds: number;
  records: number;
  batches: number;
  cpu: ReturnType<typeof cpuShares>;
}

/**
 * Bundles the workflows, starts the dev server and the worker at `latencyMs`, runs `work`, then
 * stops everything (whatever happened).
 */
async function withEnrichRig(context: BenchContext, name: string, latencyMs: number, work: (rig: EnrichRig) => Promise<Figure[]>): Promise<Figure[]> {
  const { catalog, log, runId } = context;
  const shape: JobShape = {
    batchSize: envInt('BENCH_JOB_BATCH_SIZE', JOB_LIMITS.maxBatchSize),
    batchesPerRun: envInt('BENCH_JOB_BATCHES_PER_RUN', 0, 0),
    concurrency: envInt('BENCH_JOB_CONCURRENCY', 200),
  };
  if (shape.batchSize > JOB_LIMITS.maxBatchSize) throw new Error(`BENCH_JOB_BATCH_SIZE must be at most ${JOB_LIMITS.maxBatchSize}`);
  const parallelBatches = envInt('BENCH_JOB_PARALLEL_BATCHES', PARALLEL_BATCHES);
  const maxInFlightRecords = envInt('BENCH_JOB_IN_FLIGHT', JOB_BATCH_DEFAULTS.maxInFlightRecords);
  const flushSize = envInt('BENCH_JOB_FLUSH_SIZE', 1_000);
  const flushIntervalMs = envInt('BENCH_JOB_FLUSH_INTERVAL_MS', 250);
  const verbose = process.env.BENCH_VERBOSE === '1';

  const feature = catalog.feature(FEATURE);
  const unitPrice = feature ? catalog.unitPrice(feature) : undefined;
  if (unitPrice === undefined) throw new Error(`the catalog has no priced feature "${FEATURE}"`);

  const directory = mkdtempSync(join(tmpdir(), 'credits-job-enrich-'));
  const taskQueue = `${name}-${runId}`;
  const pool = createPool({ connectionString: context.databaseUrl, max: 4, applicationName: `bench ${name}` });
  let temporal: BenchTemporal | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    const bundleStarted = performance.now();
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
    const workflowCodePath = join(directory, 'workflows.js');
    writeFileSync(workflowCodePath, bundle.code);
    log(`${name}: workflows bundled in ${((performance.now() - bundleStarted) / 1000).toFixed(1)} s`);

    temporal = await startBenchTemporal(context, directory, verbose);
    const settings: WorkerSettings = {
      databaseUrl: context.databaseUrl,
      temporalAddress: temporal.address,
      namespace: temporal.namespace,
      taskQueue,
      workflowCodePath,
      latencyMs,
      verifiedRate: VERIFIED_RATE,
      batchConcurrency: shape.concurrency,
      flushSize,
      flushIntervalMs,
      parallelBatches,
      maxInFlightRecords,
    };
    // Node's default lets V8 put off full collections until the old generation is several times what
    // is live (measured: about 90 MB live, collected at about 250 MB); a limit makes it collect sooner.
    const heapLimitMb = envInt('BENCH_JOB_WORKER_HEAP_MB', 0, 0);
    worker = await startWorkerProcess({
      command: { entry: [...(heapLimitMb > 0 ? [`--max-old-space-size=${heapLimitMb}`] : []), THIS_FILE, WORKER_FLAG] },
      env: { [WORKER_SETTINGS_ENV]: JSON.stringify(settings) },
      ready: { kind: 'ipc' }, // workerMain sends it once the worker runs
      startTimeoutMs: WORKER_START_TIMEOUT_MS,
      log,
      verbose,
    });
    log(
      `${name}: ${temporal.description} on ${temporal.address} (pid ${temporal.pid}), worker pid ${worker.pid}; provider at ${latencyMs} ms, ` +
        `batch ${shape.batchSize}, ${shape.batchesPerRun > 0 ? shape.batchesPerRun : 'default'} batches per run, ${parallelBatches} batches of a job at once, ` +
        `concurrency ${shape.concurrency}, ${maxInFlightRecords} records in flight per batch, flush ${flushSize} / ${flushIntervalMs} ms` +
        (heapLimitMb > 0 ? `, worker heap limit ${heapLimitMb} MB` : ''),
    );
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const ledger = createLedger({ pool, catalog });
    return await work({ name, pool, ledger, jobs: createJobStore({ pool, ledger }), client, taskQueue, worker, temporal, unitPrice, shape });
  } finally {
    await stopWorkerBench({ connection, worker, temporal, pool, directory });
  }
}

/** An account funded for `records` records even if all were verified. */
async function fundedAccount(rig: EnrichRig, accountId: string, records: number): Promise<void> {
  const now = new Date();
  await rig.ledger.createAccount({ accountId, planId: PLAN, users: [{ userId: ADMIN, role: 'admin' }, { userId: JOB_USER, role: 'member' }], now });
  await rig.ledger.topUp({ accountId, userId: ADMIN, credits: multiplyMicros(rig.unitPrice, records), idempotencyKey: 'bench-funding', now });
}

/** A draft job with `count` records, appended in chunks as the API streams them. */
async function preparedJob(rig: EnrichRig, accountId: string, jobId: string, count: number): Promise<void> {
  await rig.jobs.createJob({ accountId, jobId, feature: FEATURE, userId: JOB_USER, idempotencyKey: jobId, now: new Date() });
  for (let start = 0; start < count; start += JOB_LIMITS.maxRecordsPerAppend) {
    const chunk = Array.from({ length: Math.min(JOB_LIMITS.maxRecordsPerAppend, count - start) }, (_, index) => {
      const recordId = `${jobId}-lead-${start + index}`;
      return { recordId, input: { email: `${recordId}@example.com` } };
    });
    await rig.jobs.appendRecords({ jobId, records: chunk, now: new Date() });
  }
}

async function runToEnd(rig: EnrichRig, job: { accountId: string; jobId: string; records: number }): Promise<JobResult> {
  const { batchSize, batchesPerRun } = rig.shape;
  const handle = await startJob(rig.client, rig.taskQueue, { jobId: job.jobId, accountId: job.accountId, feature: FEATURE, batchSize, ...(batchesPerRun > 0 ? { batchesPerRun } : {}) });
  const final = await Promise.race([handle.result(), rig.worker.exited]);
  if (final.status !== 'completed') throw new Error(`${rig.name}: job ${job.jobId} ended ${final.status} (${final.counters.processed}/${job.records} records processed)`);
  return final;
}

/**
 * Starts the (prepared) jobs at once and measures until the last one ends; then checks that every
 * record has a result and that the ledger charged exactly the verified records, once each.
 */
async function measureJobs(rig: EnrichRig, context: BenchContext, jobs: readonly { accountId: string; jobId: string; records: number }[]): Promise<Measured> {
  const anyPostgres = process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '';
  const roots = { worker: rig.worker.pid, temporal: rig.temporal.pid };
  const cpuBefore = cpuSnapshot(roots, { anyPostgres });
  const started = performance.now();
  const finals = await Promise.all(jobs.map((job) => runToEnd(rig, job)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuShares(cpuBefore, cpuSnapshot(roots, { anyPostgres }), clockTicksPerSecond());

  for (const [index, job] of jobs.entries()) {
    const facts = await recordFacts(rig.pool, job.jobId);
    const problems = [
      facts.stored !== job.records ? `${facts.stored} of ${job.records} records have a result` : '',
      facts.pending !== 0 ? `${facts.pending} records are still pending` : '',
      facts.charged_credits !== rig.unitPrice * facts.charged ? `the records say ${facts.charged_credits} micros for ${facts.charged} charged records` : '',
      facts.ledger_credits !== facts.charged_credits ? `the ledger charged ${facts.ledger_credits} micros, the records say ${facts.charged_credits}` : '',
    ].filter((problem) => problem !== '');
    if (problems.length > 0) throw new Error(`${rig.name}: job ${job.jobId}: ${problems.join('; ')}`);
    // The workflow's own counters miss the results a failed batch attempt stored before its retry:
    // the money is right (above), but the measured run was not a clean one.
    const counters = finals[index]?.counters;
    if (counters && (counters.processed !== job.records || counters.verified !== facts.charged || counters.charged !== facts.charged_credits)) {
      context.log(
        `${rig.name}: WARNING: job ${job.jobId}: the workflow counted ${counters.processed} records, ${counters.verified} verified, ${counters.charged} micros charged; ` +
          `the records say ${facts.stored}, ${facts.charged}, ${facts.charged_credits} (a batch activity was retried?)`,
      );
    }
  }
  const records = jobs.reduce((sum, job) => sum + job.records, 0);
  const batches = finals.reduce((sum, final) => sum + final.batches, 0);
  context.log(
    `${rig.name}: ${jobs.length} job(s), ${records} records in ${seconds.toFixed(2)} s (${(records / seconds).toFixed(1)}/s, ${batches} batches); ` +
      `CPU (% of one core, ${availableParallelism()} cores): worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, bench ${cpu.bench}, other ${cpu.other}, machine ${cpu.machine}`,
  );
  return { seconds, records, batches, cpu };
}

/** CPU per process group, named with `prefix`. */
function cpuFigures(cpu: Measured['cpu'], prefix = ''): Figure[] {
  return [
    { metric: `${prefix}worker_cpu_pct`, value: cpu.worker, unit: '%' },
    { metric: `${prefix}temporal_cpu_pct`, value: cpu.temporal, unit: '%' },
    { metric: `${prefix}postgres_cpu_pct`, value: cpu.postgres, unit: '%' },
    { metric: `${prefix}other_cpu_pct`, value: cpu.other, unit: '%' },
    { metric: `${prefix}machine_cpu_pct`, value: cpu.machine, unit: '%' },
  ];
}

/** A warm-up job (not measured), so that the measured run starts on a worker that has run one. */
async function warmUp(rig: EnrichRig, context: BenchContext, accountId: string): Promise<void> {
  const warmup = envInt('BENCH_JOB_WARMUP', 2_000, 0);
  if (warmup === 0) return;
  const jobId = `${accountId}-warmup`;
  await preparedJob(rig, accountId, jobId, warmup);
  const started = performance.now();
  await runToEnd(rig, { accountId, jobId, records: warmup });
  context.log(`${rig.name}: warm-up job of ${warmup} records in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}

/** job.enrich.zero-latency, job.enrich.50ms: one job of BENCH_JOB_RECORDS records. */
async function runOneJob(context: BenchContext, name: string, latencyMs: number): Promise<Figure[]> {
  const records = envInt('BENCH_JOB_RECORDS', 100_000);
  const benchRss = sampleRss();
  try {
    return await withEnrichRig(context, name, latencyMs, async (rig) => {
      const accountId = `${name}-${context.runId}`;
      await fundedAccount(rig, accountId, records + envInt('BENCH_JOB_WARMUP', 2_000, 0));
      await warmUp(rig, context, accountId);
      const jobId = `${accountId}-job`;
      const appendStarted = performance.now();
      await preparedJob(rig, accountId, jobId, records);
      context.log(`${name}: ${records} records appended in ${((performance.now() - appendStarted) / 1000).toFixed(1)} s`);

      const startRssMb = readMemoryMb(rig.worker.pid, 'VmRSS') ?? 0;
      const measured = await measureJobs(rig, context, [{ accountId, jobId, records }]);
      const peakRssMb = readMemoryMb(rig.worker.pid, 'VmHWM') ?? 0;
      const rate = records / measured.seconds;
      const figures: Figure[] = [{ metric: 'records_per_s', value: round(rate, 1), unit: '1/s' }];
      if (latencyMs > 0) {
        const ideal = rig.shape.concurrency / (latencyMs / 1000);
        figures.push({ metric: 'share_of_ideal', value: round(rate / ideal, 3), unit: 'ratio' }, { metric: 'ideal_records_per_s', value: round(ideal, 1), unit: '1/s' });
      }
      return [
        ...figures,
        { metric: 'seconds', value: round(measured.seconds, 2), unit: 's' },
        { metric: 'records', value: records, unit: 'records' },
        { metric: 'peak_rss_mb', value: round(peakRssMb, 1), unit: 'MB' },
        { metric: 'start_rss_mb', value: round(startRssMb, 1), unit: 'MB' },
        { metric: 'bench_peak_rss_mb', value: benchRss.stop(), unit: 'MB' },
        ...cpuFigures(measured.cpu),
      ];
    });
  } finally {
    benchRss.stop();
  }
}

/**
 * job.enrich.parallel: BENCH_JOB_PARALLEL_JOBS jobs of BENCH_JOB_PARALLEL_RECORDS records started
 * at once, first all on one account (their flushes share its lock and its group-commit batches),
 * then each on its own account; one worker for both.
 */
async function runParallelJobs(context: BenchContext, name: string): Promise<Figure[]> {
  const jobCount = envInt('BENCH_JOB_PARALLEL_JOBS', 4);
  const perJob = envInt('BENCH_JOB_PARALLEL_RECORDS', 50_000);
  const latencyMs = envInt('BENCH_JOB_PARALLEL_LATENCY_MS', 0, 0);
  return withEnrichRig(context, name, latencyMs, async (rig) => {
    const prefix = `${name}-${context.runId}`;
    const shared = `${prefix}-shared`;
    const own = Array.from({ length: jobCount }, (_, index) => `${prefix}-own-${index + 1}`);
    await fundedAccount(rig, shared, jobCount * perJob + envInt('BENCH_JOB_WARMUP', 2_000, 0));
    for (const accountId of own) await fundedAccount(rig, accountId, perJob);
    await warmUp(rig, context, shared);
    const variants = [
      { label: 'one_account', jobs: Array.from({ length: jobCount }, (_, index) => ({ accountId: shared, jobId: `${shared}-job-${index + 1}`, records: perJob })) },
      { label: 'own_accounts', jobs: own.map((accountId) => ({ accountId, jobId: `${accountId}-job`, records: perJob })) },
    ];
    const figures: Figure[] = [];
    for (const variant of variants) {
      for (const job of variant.jobs) await preparedJob(rig, job.accountId, job.jobId, job.records);
      context.log(`${name}: ${variant.label}: ${variant.jobs.length} jobs of ${perJob} records prepared`);
      const measured = await measureJobs(rig, context, variant.jobs);
      figures.push(
        { metric: `${variant.label}_records_per_s`, value: round(measured.records / measured.seconds, 1), unit: '1/s' },
        { metric: `${variant.label}_seconds`, value: round(measured.seconds, 2), unit: 's' },
        ...cpuFigures(measured.cpu, `${variant.label}_`),
      );
    }
    return [
      ...figures,
      { metric: 'jobs', value: jobCount, unit: 'jobs' },
      { metric: 'records_per_job', value: perJob, unit: 'records' },
      { metric: 'peak_rss_mb', value: round(readMemoryMb(rig.worker.pid, 'VmHWM') ?? 0, 1), unit: 'MB' },
    ];
  });
}

const SETTINGS =
  'BENCH_JOB_WARMUP 2000, BENCH_JOB_BATCH_SIZE 5000, BENCH_JOB_BATCHES_PER_RUN, BENCH_JOB_CONCURRENCY 200, BENCH_JOB_PARALLEL_BATCHES 4, BENCH_JOB_IN_FLIGHT, BENCH_JOB_FLUSH_SIZE 1000, BENCH_JOB_FLUSH_INTERVAL_MS 250';

export const jobEnrichBenchmarks: Benchmark[] = [
  {
    name: 'job.enrich.zero-latency',
    description: `one bulk job through the worker (child process) on the Temporal dev server (BENCH_TEMPORAL=server: the real one), simulated provider at 0 ms: records/s, worker peak RSS, CPU per process (BENCH_JOB_RECORDS 100000, ${SETTINGS})`,
    run: (context) => runOneJob(context, 'job.enrich.zero-latency', 0),
  },
  {
    name: 'job.enrich.50ms',
    description: `as job.enrich.zero-latency with the provider at 50 ms: records/s and share_of_ideal = records/s / (concurrency / 50 ms) (BENCH_JOB_RECORDS 100000, ${SETTINGS})`,
    run: (context) => runOneJob(context, 'job.enrich.50ms', 50),
  },
  {
    name: 'job.enrich.parallel',
    description:
      `four jobs at once through one worker, on one account and then on four accounts: records/s of all of them together, CPU per process ` +
      `(BENCH_JOB_PARALLEL_JOBS 4, BENCH_JOB_PARALLEL_RECORDS 50000, BENCH_JOB_PARALLEL_LATENCY_MS 0, ${SETTINGS})`,
    run: (context) => runParallelJobs(context, 'job.enrich.parallel'),
  },
];

// `node --import tsx bench/job-enrich.ts --job-enrich-worker`: the worker process of these benchmarks.
if (process.argv[2] === WORKER_FLAG && process.argv[1] !== undefined && resolve(process.argv[1]) === THIS_FILE) {
  workerMain().catch((error: unknown) => {
    process.stderr.write(`ERROR worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
