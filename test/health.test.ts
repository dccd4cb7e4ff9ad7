/**
 * GET /health tells an operator (or a load balancer) which dependency is missing: 200 only when the
 * database, Temporal and a worker polling the task queue are all there, 503 naming the failing
 * part otherwise, with the same JSON shape either way.
 */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer } from '../src/api/server.js';
import { freePort } from '../src/devstack/postgres.js';
import { startTemporalDevServer } from '../src/devstack/temporal-dev-server.js';
import { createPool } from '../src/ledger/db.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { http } from './support/http.js';

const stackOf = useApiStack();

interface HealthBody {
  status: string;
  dependencies: Record<'database' | 'temporal' | 'worker', { state: string; latencyMs: number; error?: string; since: string }>;
}

/** An API on the stack's catalog and ledger, with some of its dependencies swapped for missing ones. */
async function healthOf(wiring: Partial<Pick<Parameters<typeof createApiDeps>[0], 'pool' | 'client' | 'taskQueue'>>): Promise<{ status: number; body: HealthBody; retryAfter: string | null }> {
  const stack = stackOf();
  const api = await startApiServer(
    createApiDeps({ pool: stack.pool, catalog: stack.catalog, client: stack.env.client, taskQueue: stack.taskQueue, tokens: [{ scope: 'admin', token: API_TOKEN }], logger: pino({ level: 'silent' }), ...wiring }),
    { port: 0 },
  );
  try {
    const answer = await http(api.url, 'GET', '/health', { token: null });
    return { status: answer.status, body: answer.body as HealthBody, retryAfter: answer.headers.get('retry-after') };
  } finally {
    await api.close();
  }
}

describe('GET /health', () => {
  it('answers 200 with every dependency up, each with its latency', async () => {
    const answer = await http(stackOf().api.url, 'GET', '/health', { token: null });
    expect(answer.status).toBe(200);
    const body = answer.body as HealthBody;
    expect(body.status).toBe('ok');
    for (const name of ['database', 'temporal', 'worker'] as const) {
      expect(body.dependencies[name]).toMatchObject({ state: 'up', latencyMs: expect.any(Number) as number, since: expect.any(String) as string });
      expect(body.dependencies[name].error).toBeUndefined();
    }
  });

  it('answers 503 naming the database when PostgreSQL cannot be reached', async () => {
    const pool = createPool({ connectionString: `postgres://credits:credits@127.0.0.1:${await freePort()}/credits` });
    try {
      const health = await healthOf({ pool });
      expect([health.status, health.retryAfter]).toEqual([503, '5']);
      expect(health.body.status).toBe('unavailable');
      expect(health.body.dependencies.database).toMatchObject({ state: 'down', error: expect.stringContaining('ECONNREFUSED') as string });
      expect(health.body.dependencies.temporal.state).toBe('up');
      expect(health.body.dependencies.worker.state).toBe('up');
    } finally {
      await pool.end();
    }
  });

  it('answers 503 naming the worker when nothing polls the task queue', async () => {
    const health = await healthOf({ taskQueue: 'nobody-polls-this-queue' });
    expect(health.status).toBe(503);
    expect(health.body.dependencies.worker).toMatchObject({ state: 'down', error: expect.stringContaining('no worker polls task queue "nobody-polls-this-queue"') as string });
    expect(health.body.dependencies.database.state).toBe('up');
    expect(health.body.dependencies.temporal.state).toBe('up');
  });

  it('answers 503 naming Temporal when its server has gone, and the API then closes cleanly', async () => {
    const server = await startTemporalDevServer({ headless: true });
    const connection = await Connection.connect({ address: server.address });
    try {
      await server.stop();
      const health = await healthOf({ client: new Client({ connection }) });
      expect(health.status).toBe(503);
      expect(health.body.dependencies.temporal).toMatchObject({ state: 'down', error: expect.stringContaining('UNAVAILABLE') as string });
      expect(health.body.dependencies.worker.state).toBe('down');
      expect(health.body.dependencies.database.state).toBe('up');
    } finally {
      await connection.close();
    }
    // The client's retry interceptor retries an unreachable server on timers; one firing after the
    // close used to throw "Channel has been shut down" as an uncaught exception (the run fails).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  });
});
