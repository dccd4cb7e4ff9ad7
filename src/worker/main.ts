import { getHeapStatistics } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { loadCatalog } from '../catalog/catalog.js';
import { loadConfig, requireDatabaseUrl, type Config } from '../config.js';
import { probeDatabase } from '../health/probes.js';
import { createHealthWatch } from '../health/watch.js';
import { createPool } from '../ledger/db.js';
import { migrate } from '../ledger/migrate.js';
import { providerFromConfig } from '../providers/from-config.js';
import { loggableTemporal, temporalConnectionOptions } from '../temporal/connection.js';
import { registerSearchAttributes } from '../temporal/search-attributes.js';
import { startWebhookDelivery } from '../temporal/webhooks.js';
import { createWorkerDeps } from './deps.js';
import { WORKER_STARTED } from './process.js';
import { startMetricsServer, temporalMetrics } from './metrics.js';
import { bundleWorkflowsApart } from './workflow-code.js';
import { createCreditsWorker } from './worker.js';

const logger = pino({ name: 'credits-worker' });

/**
 * Registers the search attributes the workflows set (missing ones only) and, with webhooks on,
 * starts their delivery workflow (a no-op while it runs). A server that refuses to register
 * attributes (Temporal Cloud manages them elsewhere) gets a warning, not a failed start.
 */
async function prepareTemporal(config: Config): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    try {
      await registerSearchAttributes(connection, config.temporal.namespace);
    } catch (error) {
      logger.warn({ err: error, namespace: config.temporal.namespace }, 'could not register search attributes; register them on the server, or workflows that set them will fail');
    }
    if (config.webhook) {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      await startWebhookDelivery(client, config.temporal.taskQueue);
      logger.info({ url: config.webhook.url }, 'webhook delivery running');
    }
  } finally {
    await connection.close();
  }
}

/**
 * The worker process: connects to TEMPORAL_ADDRESS and DATABASE_URL, polls the task queue, and on
 * SIGTERM or SIGINT stops polling, lets running activities finish, and exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const { workerPort, temporalPort } = config.metrics;
  // The SDK's runtime is made once per process, with its first connection: it must know its metrics before.
  if (temporalPort !== undefined) Runtime.install({ telemetryOptions: { metrics: temporalMetrics(`0.0.0.0:${temporalPort}`) } });
  const databaseUrl = requireDatabaseUrl(config);
  const catalog = loadCatalog(config.catalogPath);
  await migrate(databaseUrl);
  const pool = createPool({ connectionString: databaseUrl, max: config.worker.databasePoolSize, applicationName: 'credits-worker', logger });
  const health = createHealthWatch({ probes: { database: probeDatabase(pool) }, labels: { database: 'database' }, logger });
  health.start();
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const metrics = workerPort === undefined ? undefined : await startMetricsServer({ port: workerPort, hostname: '0.0.0.0' });
  try {
    const bundlingStarted = performance.now();
    const workflowBundle = await bundleWorkflowsApart();
    logger.info({ ms: Math.round(performance.now() - bundlingStarted), bytes: workflowBundle.code.length }, 'workflows bundled');
    const worker = await createCreditsWorker({
      connection,
      workflowBundle,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      tuning: config.worker,
      deps: createWorkerDeps({
        pool,
        catalog,
        provider: providerFromConfig(config.enrichment, catalog),
        batchConcurrency: config.enrichment.concurrency,
        ...config.jobs,
        ...(config.webhook ? { webhook: config.webhook } : {}),
      }),
    });
    await prepareTemporal(config);
    logger.info(
      {
        temporal: loggableTemporal(config.temporal),
        catalog: config.catalogPath,
        provider: config.enrichment.provider,
        webhooks: config.webhook !== undefined,
        tuning: config.worker,
        // Set by the launcher (scripts/worker.sh, WORKER_HEAP_MB); with the cache it bounds the worker's memory.
        v8HeapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
        jobs: config.jobs,
        metrics: { credits: metrics?.url ?? null, temporal: temporalPort === undefined ? null : `http://127.0.0.1:${temporalPort}/metrics` },
      },
      WORKER_STARTED,
    );
    // Worker.run resolves after SIGTERM/SIGINT (the SDK's default shutdown signals) once in-flight
    // tasks have finished or the shutdown grace time has passed.
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await metrics?.close();
    await health.stop();
    await connection.close();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  logger.error({ err: error }, 'worker failed');
  process.exitCode = 1;
});
