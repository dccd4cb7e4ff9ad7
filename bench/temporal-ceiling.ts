/**
 * The machine's ceiling for the workflow benches, as `pg.ceiling.*` is for the charge benches: the
 * same Temporal (the dev server, or the real one with BENCH_TEMPORAL=server) and a worker process
 * with the product worker's settings (WORKER_*, read as the worker reads them: cache, concurrency,
 * sticky queue) running a workflow that does the least an account's does
 * (bench/ceiling-workflows.ts): no activity, no ledger, no search attributes. What the product
 * does above it is the product's cost.
 *
 * - `temporal.ceiling.open`: BENCH_CALLERS (32) callers, each an update-with-start of a new
 *   workflow answered at once, BENCH_ACCOUNTS (2,000) after BENCH_WARMUP (100): Temporal's part of
 *   opening an account. `accounts.open` prints its `share_of_ceiling` against it.
 * - `temporal.ceiling.boundary`: BENCH_ROLLOVER_ACCOUNTS (10,000) workflows asleep until one
 *   shared instant, each ending when it wakes (one workflow task): `seconds` from that instant
 *   until all have ended (polled from visibility every 250 ms). `rollover.10k` prints its
 *   `share_of_ceiling` against it, for the same number of workflows.
 *
 * Each is measured once per run, on a Temporal and a worker of its own (here, or on a bench's first
 * need). CPU figures as in the other worker benches (% of one core, per process group).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/ledger/db.js';
import { workerTuning } from '../src/worker/worker.js';
import { ceilingOpenedUpdate, type ceilingWorkflow } from './ceiling-workflows.js';
import { envInt, loadFigures, mapConcurrent, round, runLoad, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { clockTicksPerSecond, cpuShares, cpuSnapshot, readMemoryMb } from './proc-stats.js';
import { pollCount, runBenchWorkerProcess, startBenchTemporal, startWorkerProcess, stopWorkerBench, type BenchTemporal, type WorkerProcess } from './worker-process.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const CEILING_WORKFLOWS_PATH = fileURLToPath(new URL('./ceiling-workflows.ts', import.meta.url));
const WORKER_FLAG = '--temporal-ceiling-worker';
const WORKER_SETTINGS_ENV = 'BENCH_CEILING_WORKER_SETTINGS';
const WORKER_START_TIMEOUT_MS = 120_000;
/** Workflows started at once when the boundary ceiling starts its sleepers. */
const STARTERS = 32;
/** The sleepers' boundary comes this long after they are projected to be started, and 25 % more. */
const BOUNDARY_GUARD_MS = 15_000;
const POLL_MS = 250;

export type TemporalCeilingName = 'temporal.ceiling.open' | 'temporal.ceiling.boundary';

interface CeilingWorkerSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

async function workerMain(): Promise<void> {
  const raw = process.env[WORKER_SETTINGS_ENV];
  if (raw === undefined) throw new Error(`${WORKER_SETTINGS_ENV} is not set`);
  const settings = JSON.parse(raw) as CeilingWorkerSettings;
  await runBenchWorkerProcess(settings.address, (connection) =>
    Worker.create({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue, workflowsPath: CEILING_WORKFLOWS_PATH, ...workerTuning(loadConfig().worker) }),
  );
}

/** What a ceiling measurement runs on: its own Temporal, a worker process, and a client. */
interface CeilingRig {
  temporal: BenchTemporal;
  worker: WorkerProcess;
  client: Client;
  taskQueue: string;
  roots: { worker: number; temporal: number };
}

async function withCeilingRig(context: BenchContext, name: TemporalCeilingName, work: (rig: CeilingRig) => Promise<Figure[]>): Promise<Figure[]> {
  const verbose = process.env.BENCH_VERBOSE === '1';
  const directory = mkdtempSync(join(tmpdir(), 'credits-temporal-ceiling-'));
  const taskQueue = `${name}-${context.runId}`;
  // stopWorkerBench ends a pool; this bench needs none beyond that.
  const pool = createPool({ connectionString: context.databaseUrl, max: 1, applicationName: `bench ${name}` });
  let temporal: BenchTemporal | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  try {
    temporal = await startBenchTemporal(context, directory, verbose);
    const settings: CeilingWorkerSettings = { address: temporal.address, namespace: temporal.namespace, taskQueue };
    worker = await startWorkerProcess({
      command: { entry: [THIS_FILE, WORKER_FLAG] },
      env: { [WORKER_SETTINGS_ENV]: JSON.stringify(settings) },
      ready: { kind: 'ipc' },
      startTimeoutMs: WORKER_START_TIMEOUT_MS,
      log: context.log,
      verbose,
    });
    context.log(`${name}: ${temporal.description} on ${temporal.address} (pid ${temporal.pid}), worker pid ${worker.pid} polling ${taskQueue}`);
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const running = worker;
    return await Promise.race([running.exited, work({ temporal, worker: running, client, taskQueue, roots: { worker: running.pid, temporal: temporal.pid } })]);
  } finally {
    await stopWorkerBench({ connection, worker, temporal, pool, directory });
  }
}

function cpuFigures(cpu: ReturnType<typeof cpuShares>): Figure[] {
  return [
    { metric: 'worker_cpu_pct', value: cpu.worker, unit: '%' },
    { metric: 'temporal_cpu_pct', value: cpu.temporal, unit: '%' },
    { metric: 'postgres_cpu_pct', value: cpu.postgres, unit: '%' },
    { metric: 'bench_cpu_pct', value: cpu.bench, unit: '%' },
    { metric: 'other_cpu_pct', value: cpu.other, unit: '%' },
    { metric: 'machine_cpu_pct', value: cpu.machine, unit: '%' },
  ];
}

const FAR_WAKE_MS = 24 * 3600 * 1000;

async function measureOpen(context: BenchContext): Promise<Figure[]> {
  const name = 'temporal.ceiling.open';
  const callers = envInt('BENCH_CALLERS', 32);
  const workflows = envInt('BENCH_ACCOUNTS', 2000);
  const warmup = envInt('BENCH_WARMUP', 100, 0);
  return withCeilingRig(context, name, async (rig) => {
    const wakeAt = new Date(Date.now() + FAR_WAKE_MS).toISOString();
    const open = async (workflowId: string): Promise<void> => {
      const opened = await rig.client.workflow.executeUpdateWithStart(ceilingOpenedUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof ceilingWorkflow>('ceilingWorkflow', {
          workflowId,
          taskQueue: rig.taskQueue,
          args: [{ wakeAt }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      if (!opened) throw new Error(`${name}: ${workflowId} answered ${String(opened)}`);
    };
    if (warmup > 0) await runLoad(callers, warmup, (index) => open(`${rig.taskQueue}-warmup-${index}`));
    const before = cpuSnapshot(rig.roots, { anyPostgres: true });
    const result = await runLoad(callers, workflows, (index) => open(`${rig.taskQueue}-${index}`));
    const cpu = cpuShares(before, cpuSnapshot(rig.roots, { anyPostgres: true }), clockTicksPerSecond());
    context.log(`${name}: ${workflows} workflows opened in ${result.seconds.toFixed(2)} s (${(workflows / result.seconds).toFixed(1)}/s); CPU worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, bench ${cpu.bench}, other ${cpu.other}`);
    return [...loadFigures(result, 'opens_per_s'), ...cpuFigures(cpu), { metric: 'workflows', value: workflows, unit: 'workflows' }];
  });
}

/** Workflows of the rig's task queue that have ended. */
async function endedCount(rig: CeilingRig): Promise<number> {
  const { count } = await rig.client.workflow.count(`TaskQueue = "${rig.taskQueue}" AND ExecutionStatus = "Completed"`);
  return count;
}

async function measureBoundary(context: BenchContext, workflows: number): Promise<Figure[]> {
  const name = 'temporal.ceiling.boundary';
  const warmup = envInt('BENCH_ROLLOVER_WARMUP', 200, 1);
  return withCeilingRig(context, name, async (rig) => {
    const startAll = (count: number, prefix: string, wakeAt: Date): Promise<unknown> =>
      mapConcurrent(
        Array.from({ length: count }, (_, index) => `${prefix}-${index}`),
        STARTERS,
        (workflowId) => rig.client.workflow.start<typeof ceilingWorkflow>('ceilingWorkflow', { workflowId, taskQueue: rig.taskQueue, args: [{ wakeAt: wakeAt.toISOString() }] }),
      );
    // The warm-up's sleepers wake at once; their rate sizes the wait before the boundary.
    const warmStarted = performance.now();
    await startAll(warmup, `${rig.taskQueue}-warmup`, new Date());
    const startRate = warmup / ((performance.now() - warmStarted) / 1000);
    const projectedMs = (workflows / startRate) * 1000;
    const boundary = new Date(Date.now() + projectedMs * 1.25 + BOUNDARY_GUARD_MS);
    context.log(`${name}: warm-up: ${warmup} workflows started at ${startRate.toFixed(1)}/s; starting ${workflows} that sleep until ${boundary.toISOString()}`);
    await startAll(workflows, rig.taskQueue, boundary);
    const lateMs = Date.now() - boundary.getTime();
    if (lateMs > 0) context.log(`${name}: WARNING: the workflows were started ${lateMs} ms after their boundary: the figure is low`);
    else await sleep(-lateMs);

    const before = cpuSnapshot(rig.roots, { anyPostgres: true });
    await pollCount({ probe: () => endedCount(rig), target: warmup + workflows, what: `${name}: workflows ended`, worker: rig.worker, pollMs: POLL_MS, log: context.log });
    const seconds = (Date.now() - boundary.getTime()) / 1000;
    const cpu = cpuShares(before, cpuSnapshot(rig.roots, { anyPostgres: true }), clockTicksPerSecond());
    const workerPeakMb = readMemoryMb(rig.worker.pid, 'VmHWM') ?? 0;
    context.log(`${name}: ${workflows} workflows woke and ended ${seconds.toFixed(2)} s after their boundary; CPU worker ${cpu.worker}, temporal ${cpu.temporal}, postgres ${cpu.postgres}, bench ${cpu.bench}, other ${cpu.other}`);
    return [
      { metric: 'seconds', value: round(seconds, 2), unit: 's' },
      { metric: 'workflows_per_s', value: round(workflows / seconds, 1), unit: '1/s' },
      { metric: 'worker_peak_rss_mb', value: round(workerPeakMb, 1), unit: 'MB' },
      ...cpuFigures(cpu),
      { metric: 'workflows', value: workflows, unit: 'workflows' },
    ];
  });
}

/** A ceiling to measure: the open one, or the boundary one for a number of workflows (a rollover's accounts). */
export type TemporalCeiling = { name: 'temporal.ceiling.open' } | { name: 'temporal.ceiling.boundary'; workflows: number };

const RATE_METRIC: Record<TemporalCeilingName, string> = { 'temporal.ceiling.open': 'opens_per_s', 'temporal.ceiling.boundary': 'workflows_per_s' };

/** Each run's ceilings, by run id and ceiling: measured once however many benches need them. */
const measured = new Map<string, Promise<Figure[]>>();

export function temporalCeilingFigures(context: BenchContext, ceiling: TemporalCeiling): Promise<Figure[]> {
  const key = `${context.runId} ${ceiling.name} ${ceiling.name === 'temporal.ceiling.boundary' ? ceiling.workflows : ''}`;
  let figures = measured.get(key);
  if (!figures) {
    figures = ceiling.name === 'temporal.ceiling.open' ? measureOpen(context) : measureBoundary(context, ceiling.workflows);
    measured.set(key, figures);
  }
  return figures;
}

/**
 * A bench's figures with `share_of_ceiling` added: its `rateMetric` over the Temporal ceiling's rate
 * in the same run. Called once the bench has stopped its own Temporal, so that the two never run
 * side by side (on the real server they would share its database).
 */
export async function withTemporalCeilingShare(context: BenchContext, ceiling: TemporalCeiling, rateMetric: string, figures: Figure[]): Promise<Figure[]> {
  const rate = figures.find((figure) => figure.metric === rateMetric)?.value ?? Number.NaN;
  const ceilingRate = (await temporalCeilingFigures(context, ceiling)).find((figure) => figure.metric === RATE_METRIC[ceiling.name])?.value ?? Number.NaN;
  return [...figures, { metric: 'share_of_ceiling', value: round(rate / ceilingRate, 3), unit: 'ratio' }];
}

export const temporalCeilingBenchmarks: Benchmark[] = [
  {
    name: 'temporal.ceiling.open',
    description: 'update-with-start of a workflow that answers at once, BENCH_CALLERS callers (BENCH_ACCOUNTS 2000, BENCH_WARMUP 100): the ceiling of accounts.open',
    run: (context) => temporalCeilingFigures(context, { name: 'temporal.ceiling.open' }),
  },
  {
    name: 'temporal.ceiling.boundary',
    description: 'BENCH_ROLLOVER_ACCOUNTS (10000) workflows asleep until one instant, each ending when it wakes: seconds until all have ended; the ceiling of rollover.10k',
    run: (context) => temporalCeilingFigures(context, { name: 'temporal.ceiling.boundary', workflows: envInt('BENCH_ROLLOVER_ACCOUNTS', 10_000) }),
  },
];

// `node --import tsx bench/temporal-ceiling.ts --temporal-ceiling-worker`: the ceilings' worker process.
if (process.argv[2] === WORKER_FLAG && process.argv[1] !== undefined && resolve(process.argv[1]) === THIS_FILE) {
  workerMain().catch((error: unknown) => {
    process.stderr.write(`ERROR worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
