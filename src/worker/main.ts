import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { loadCatalog } from '../catalog/catalog.js';
import { loadConfig, requireDatabaseUrl } from '../config.js';
import { createPool } from '../ledger/db.js';
import { createJobStore } from '../jobs/jobs.js';
import { createLedger } from '../ledger/ledger.js';
import { migrate } from '../ledger/migrate.js';
import { providerFromConfig } from '../providers/from-config.js';
import { createCreditsWorker } from './worker.js';

const logger = pino({ name: 'credits-worker' });

/**
 * The worker process: connects to TEMPORAL_ADDRESS and DATABASE_URL, polls the task queue, and on
 * SIGTERM or SIGINT stops polling, lets running activities finish, and exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const databaseUrl = requireDatabaseUrl(config);
  const catalog = loadCatalog(config.catalogPath);
  await migrate(databaseUrl);
  const pool = createPool({ connectionString: databaseUrl, max: 20, applicationName: 'credits-worker' });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const ledger = createLedger({ pool, catalog });
  try {
    const worker = await createCreditsWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps: {
        ledger,
        catalog,
        jobs: createJobStore({ pool, ledger, catalog }),
        provider: providerFromConfig(config.enrichment, catalog),
        batchConcurrency: config.enrichment.concurrency,
        flushSize: 1_000,
        flushIntervalMs: 250,
      },
    });
    logger.info({ temporal: config.temporal, catalog: config.catalogPath, provider: config.enrichment.provider }, 'worker started');
    // Worker.run resolves after SIGTERM/SIGINT (the SDK's default shutdown signals) once in-flight
    // tasks have finished or the shutdown grace time has passed.
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  logger.error({ err: error }, 'worker failed');
  process.exitCode = 1;
});
