import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/catalog/catalog.js';
import { createJobStore, type JobStore } from '../../src/jobs/jobs.js';
import type { EnrichmentProvider } from '../../src/providers/provider.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { temporalCliPath, temporalTestServerPath } from '../../src/devstack/temporal-binaries.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { createWorkerDeps } from '../../src/worker/deps.js';
import { bundleWorkflowsApart, type BundledWorkflows } from '../../src/worker/workflow-code.js';
import { createCreditsWorker } from '../../src/worker/worker.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { freshLedger } from './database.js';

/** Worker lifecycle logs are INFO by default; tests keep warnings only. Once per process. */
export function quietTemporalRuntime(): void {
  if (Runtime._instance === undefined) Runtime.install({ logger: new DefaultLogger('WARN') });
}

let bundle: Promise<BundledWorkflows> | undefined;

/** The workflows bundled once per test file (webpack is the slow part of starting a worker), as the worker bundles them. */
export function workflowBundle(): Promise<BundledWorkflows> {
  bundle ??= bundleWorkflowsApart();
  return bundle;
}

export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

export async function devServerEnvironment(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: [...SEARCH_ATTRIBUTES],
    },
  });
}

export interface RunningWorker {
  worker: Worker;
  stop: () => Promise<void>;
}

export interface TestWorkerDeps {
  ledger: Ledger;
  catalog: Catalog;
  pool: pg.Pool;
  provider?: EnrichmentProvider;
  batchConcurrency?: number;
  flushSize?: number;
  /** Batches of one job at once (the worker's default when omitted). */
  parallelBatches?: number;
  maxInFlightRecords?: number;
  /** Signed webhooks: the worker then runs the delivery activity against this receiver. */
  webhook?: { url: string; secret: string };
}

/** Starts a worker in the background; `stop` shuts it down and waits until it has. */
export async function runWorker(env: TestWorkflowEnvironment, taskQueue: string, deps: TestWorkerDeps): Promise<RunningWorker> {
  const { ledger, catalog, pool } = deps;
  const worker = await createCreditsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: createWorkerDeps({
      pool,
      ...(deps.webhook ? { webhook: deps.webhook } : {}),
      ledger,
      catalog,
      provider: deps.provider ?? createSimulatedProvider(catalog, { verifiedRate: 0.6, latencyMs: 0 }),
      ...(deps.batchConcurrency === undefined ? {} : { batchConcurrency: deps.batchConcurrency }),
      flushSize: deps.flushSize ?? 100,
      flushIntervalMs: 100,
      ...(deps.parallelBatches === undefined ? {} : { parallelBatches: deps.parallelBatches }),
      ...(deps.maxInFlightRecords === undefined ? {} : { maxInFlightRecords: deps.maxInFlightRecords }),
    }),
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

export interface WorkerStack {
  env: TestWorkflowEnvironment;
  ledger: Ledger;
  pool: pg.Pool;
  catalog: Catalog;
  jobs: JobStore;
  worker: RunningWorker;
}

export interface WorkerStackOptions {
  /** `time-skipping`: timers fire as soon as the workflows wait on them; `dev`: real time, with visibility (search attributes). */
  server: 'time-skipping' | 'dev';
  taskQueue: string;
  /** What the worker runs with besides the stack's ledger, catalog and pool. */
  worker?: Omit<TestWorkerDeps, 'ledger' | 'catalog' | 'pool'>;
  /** The ledger audit must be clean once the worker has stopped (default). */
  audit?: boolean;
}

/**
 * One stack for a test file: a ledger on a fresh database with the example catalog, a job store, a
 * Temporal server and a worker on `taskQueue`, started before its tests and stopped after them.
 * Returns the accessor the tests use.
 */
export function useWorkerStack(options: WorkerStackOptions): () => WorkerStack {
  let stack: WorkerStack | undefined;
  // What has been started so far, so that a setup failing halfway still stops it.
  const started: { pool?: pg.Pool; env?: TestWorkflowEnvironment; worker?: RunningWorker } = {};
  beforeAll(async () => {
    const { ledger, pool } = await freshLedger();
    started.pool = pool;
    const catalog = loadCatalog();
    const jobs = createJobStore({ pool, ledger });
    const env = await (options.server === 'dev' ? devServerEnvironment() : timeSkippingEnvironment());
    started.env = env;
    const worker = await runWorker(env, options.taskQueue, { ...options.worker, ledger, catalog, pool });
    started.worker = worker;
    stack = { env, ledger, pool, catalog, jobs, worker };
  });
  afterAll(async () => {
    try {
      await started.worker?.stop();
      await started.env?.teardown();
      const audit = stack && options.audit !== false ? await stack.ledger.audit() : undefined;
      if (audit) expect(audit.problems).toEqual([]);
    } finally {
      await started.pool?.end();
    }
  });
  return () => {
    if (!stack) throw new Error('the worker stack is not running');
    return stack;
  };
}

/** Polls `probe` (real time, bounded) until it returns a value that satisfies `done`. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    let failure: unknown;
    try {
      value = await probe();
      if (done(value)) return value;
    } catch (error) {
      failure = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}${failure instanceof Error ? `, last error ${failure.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
