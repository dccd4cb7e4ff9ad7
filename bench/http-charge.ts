/**
 * `http.charge.hot` and `http.charge.spread`: `ledger.charge.hot` and `ledger.charge.spread`
 * (bench/ledger-charge.ts) through the HTTP API, i.e. `POST /v1/accounts/{id}/charges` with a
 * bearer token and a unique idempotency key, quantity 1, from BENCH_CALLERS concurrent callers.
 *
 * The API runs in this process (`startApiServer` on a free port of 127.0.0.1, as `npm run api` builds
 * it) on a pool of BENCH_CALLERS connections, as the ledger benchmarks use, so that the difference
 * between the two is HTTP: routing, auth, validation, JSON and the sockets. The client shares the
 * process (and its cores) with the server: node:http with a keep-alive agent of one socket per caller,
 * opened during the warm-up. Request logging is off (level `warn`, to stderr): one info line per
 * request to a terminal would be what is measured.
 *
 * Charges do not touch Temporal, so none runs: the API's gateway gets a client on a lazy connection
 * that is never used. Accounts, their funding, the settings, the measurement and the final "every
 * account holds exactly one unit" check are the ledger benchmarks' (bench/charge-load.ts); on top,
 * every charge must answer 201, not replayed, at the unit price (the first other answer fails the run).
 */
import { Agent } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { createApiDeps } from '../src/api/deps.js';
import { startApiServer } from '../src/api/server.js';
import { microsToCredits } from '../src/money.js';
import { CHARGE_FEATURE, CHARGING_USER, createChargeLoad, hotAndSpreadChargeBenchmarks, type ChargeLoadShape } from './charge-load.js';
import type { BenchContext, Benchmark, Figure } from './harness.js';
import { BENCH_API_TOKEN, postJson } from './http-client.js';

async function runHttpChargeBench(context: BenchContext, name: string, shape: ChargeLoadShape): Promise<Figure[]> {
  const load = createChargeLoad(context, name, shape);
  const { callers, pool, ledger, accountIds } = load;
  const { catalog } = context;
  const unitCredits = microsToCredits(load.unitPrice);
  // Never connected: no route a charge takes calls Temporal.
  const temporalConnection = Connection.lazy({ address: '127.0.0.1:7233' });
  // One socket per caller, opened during the warm-up so that connecting is not measured.
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  try {
    const api = await startApiServer(
      createApiDeps({
        pool,
        catalog,
        ledger,
        client: new Client({ connection: temporalConnection }),
        taskQueue: `bench-${context.runId}`,
        tokens: [BENCH_API_TOKEN],
        logger: pino({ level: 'warn' }, pino.destination(2)),
      }),
      { port: 0 },
    );
    try {
      context.log(`${name}: API on ${api.url}; ${load.summary}`);
      await load.setUp();

      const chargeUrls = accountIds.map((accountId) => new URL(`/v1/accounts/${encodeURIComponent(accountId)}/charges`, api.url));
      return await load.measure(async (target, idempotencyKey) => {
        const url = chargeUrls[target];
        if (url === undefined) throw new Error(`no account ${target}`);
        const body = JSON.stringify({ feature: CHARGE_FEATURE, quantity: 1, userId: CHARGING_USER, idempotencyKey });
        const answer = await postJson(agent, url, body);
        if (answer.status !== 201 || answer.replayed !== 'false') {
          throw new Error(`${name}: charge ${idempotencyKey} on ${accountIds[target] ?? ''} answered ${answer.status} (replayed: ${answer.replayed ?? 'no header'}): ${answer.body}`);
        }
        const result = JSON.parse(answer.body) as { credits?: unknown };
        if (result.credits !== unitCredits) {
          throw new Error(`${name}: unexpected charge result on ${accountIds[target] ?? ''}: ${answer.body}`);
        }
      });
    } finally {
      agent.destroy();
      await api.close();
    }
  } finally {
    await temporalConnection.close();
    await load.close();
  }
}

export const httpChargeBenchmarks: Benchmark[] = hotAndSpreadChargeBenchmarks(runHttpChargeBench, {
  hot: { name: 'http.charge.hot', description: 'ledger.charge.hot through POST /v1/accounts/{id}/charges on an in-process API (BENCH_CALLERS, BENCH_CHARGES, BENCH_WARMUP)' },
  spread: { name: 'http.charge.spread', description: 'ledger.charge.spread through the HTTP API: a random one of 1,000 accounts (BENCH_ACCOUNTS, BENCH_SEED, and as above)' },
});
