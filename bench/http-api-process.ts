/**
 * The API of `http.charge.*`, alone in a process of its own as `npm run api` runs it (so that the
 * load generator's HTTP client does not share its event loop), on a pool of BENCH_API_POOL
 * connections to BENCH_DATABASE_URL, listening on 127.0.0.1:BENCH_API_PORT. Charges never call
 * Temporal: the gateway gets a lazy connection that is never used. Says `{ ready }` over IPC once it
 * listens; stops on SIGTERM or when its parent goes away.
 */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer } from '../src/api/server.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createPool } from '../src/ledger/db.js';
import { BENCH_API_TOKEN } from './http-client.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const pool = createPool({ connectionString: required('BENCH_DATABASE_URL'), max: Number(required('BENCH_API_POOL')), applicationName: 'bench api' });
  const connection = Connection.lazy({ address: '127.0.0.1:7233' });
  const api = await startApiServer(
    createApiDeps({
      pool,
      catalog: loadCatalog(),
      client: new Client({ connection }),
      taskQueue: 'bench-http',
      tokens: [{ scope: 'admin', token: BENCH_API_TOKEN }],
      // Warnings only, to stderr: one info line per request would be what is measured.
      logger: pino({ level: 'warn' }, pino.destination(2)),
    }),
    { port: Number(required('BENCH_API_PORT')), hostname: '127.0.0.1' },
  );
  const stop = async (): Promise<void> => {
    await api.close();
    await connection.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('disconnect', () => void stop());
  process.send?.({ ready: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
