import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type pg from 'pg';
import type { Catalog } from '../../src/catalog/catalog.js';
import { createJobStore } from '../../src/jobs/jobs.js';
import type { EnrichmentProvider } from '../../src/providers/provider.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { temporalCliPath, temporalTestServerPath } from '../../src/devstack/temporal-binaries.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { registerSearchAttributes } from '../../src/temporal/search-attributes.js';
import { createCreditsWorker, WORKFLOWS_PATH } from '../../src/worker/worker.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

/** Worker lifecycle logs are INFO by default; tests keep warnings only. Once per process. */
export function quietTemporalRuntime(): void {
  if (Runtime._instance === undefined) Runtime.install({ logger: new DefaultLogger('WARN') });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflows bundled once per test file (webpack is the slow part of starting a worker). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
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
    deps: {
      pool,
      ...(deps.webhook ? { webhook: deps.webhook } : {}),
      ledger,
      catalog,
      jobs: createJobStore({ pool, ledger, catalog }),
      provider: deps.provider ?? createSimulatedProvider(catalog, { verifiedRate: 0.6, latencyMs: 0 }),
      batchConcurrency: deps.batchConcurrency ?? 20,
      flushSize: deps.flushSize ?? 100,
      flushIntervalMs: 100,
    },
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
