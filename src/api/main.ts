import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { loadCatalog } from '../catalog/catalog.js';
import { ConfigError, loadConfig, requireDatabaseUrl } from '../config.js';
import { loggableTemporal, temporalConnectionOptions } from '../temporal/connection.js';
import { createPool } from '../ledger/db.js';
import { migrate } from '../ledger/migrate.js';
import { createApiDeps } from './deps.js';
import { startApiServer } from './server.js';

const logger = pino({ name: 'credits-api' });

/** The API process: serves PORT until SIGTERM or SIGINT, then finishes open requests and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const databaseUrl = requireDatabaseUrl(config);
  if (!config.apiTokens) throw new ConfigError('API_TOKENS is not set: give one or more comma-separated bearer tokens of at least 16 characters, each alone (admin) or as scope:token');
  // Every replica must verify the session tokens the others sign, so none may make up its own secret.
  if (!config.sessionTokenSecret) throw new ConfigError('SESSION_TOKEN_SECRET is not set: give every API replica the same random string of at least 32 characters (it signs session tokens)');
  const catalog = loadCatalog(config.catalogPath);
  await migrate(databaseUrl);
  const pool = createPool({ connectionString: databaseUrl, max: 20, applicationName: 'credits-api', logger });
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const api = await startApiServer(createApiDeps({ pool, catalog, client, taskQueue: config.temporal.taskQueue, tokens: config.apiTokens, sessionSecret: config.sessionTokenSecret, metricsAccess: config.metrics.access, widgetOrigins: config.widgetOrigins, logger }), {
    port: config.port,
    hostname: '0.0.0.0',
  });
  logger.info({ url: api.url, openapi: `${api.url}/openapi.json`, docs: `${api.url}/docs`, metrics: config.metrics.access === 'off' ? null : `${api.url}/metrics`, temporal: loggableTemporal(config.temporal) }, 'api started');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('api stopping');
  await api.close();
  await connection.close();
  await pool.end();
  logger.info('api stopped');
}

main().catch((error: unknown) => {
  logger.error({ err: error }, 'api failed');
  process.exitCode = 1;
});
