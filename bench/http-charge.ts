/**
 * `http.charge.hot` and `http.charge.spread`: `ledger.charge.hot` and `ledger.charge.spread`
 * (bench/ledger-charge.ts) through the HTTP API, i.e. `POST /v1/accounts/{id}/charges` with a
 * bearer token and a unique idempotency key, quantity 1, from BENCH_CALLERS concurrent callers.
 *
 * The API runs in a process of its own (bench/http-api-process.ts: `startApiServer` on a free port
 * of 127.0.0.1, as `npm run api` builds it) on a pool of BENCH_CALLERS connections, as the ledger
 * benchmarks use, so that the difference between the two is HTTP: routing, auth, validation, JSON
 * and the sockets. The client is this process: node:http with a keep-alive agent of one socket per
 * caller, opened during the warm-up. It shares the machine's cores with the API and PostgreSQL but
 * not the API's event loop, as a product's backend would not (until 2026-12 both ran in one process,
 * and the client's half of every request was counted against the API). Request logging is off
 * (level `warn`, to stderr): one info line per request to a terminal would be what is measured.
 *
 * Charges do not touch Temporal, so none runs: the API's gateway gets a client on a lazy connection
 * that is never used. Accounts, their funding, the settings, the measurement and the final "every
 * account holds exactly one unit" check are the ledger benchmarks' (bench/charge-load.ts); on top,
 * every charge must answer 201, not replayed, at the unit price (the first other answer fails the run).
 */
import { Agent, createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { microsToCredits } from '../src/money.js';
import { CHARGE_FEATURE, CHARGING_USER, createChargeLoad, type BatchTotals, hotAndSpreadChargeBenchmarks, type ChargeLoadShape } from './charge-load.js';
import type { BenchContext, Benchmark, Figure } from './harness.js';
import { postJson } from './http-client.js';
import { startWorkerProcess } from './worker-process.js';

/** A port free on 127.0.0.1 now, for the API process to listen on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const API_START_TIMEOUT_MS = 60_000;

/** The API process's group-commit totals, from its `GET /metrics`. */
async function apiBatchTotals(apiUrl: string): Promise<BatchTotals> {
  const response = await fetch(new URL('/metrics', apiUrl));
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const text = await response.text();
  const total = (suffix: string): number => Number(new RegExp(`^credits_group_commit_batch_size${suffix} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { items: total('_sum'), batches: total('_count') };
}

/** The API process a family of benchmarks charges through. */
type ApiProcessScript = './http-api-process.ts' | './http-ceiling-process.ts';

async function runHttpChargeBench(context: BenchContext, name: string, shape: ChargeLoadShape, script: ApiProcessScript): Promise<Figure[]> {
  const load = createChargeLoad(context, name, shape);
  const { callers, accountIds } = load;
  const unitCredits = microsToCredits(load.unitPrice);
  try {
    const port = await freePort();
    const api = await startWorkerProcess({
      command: { entry: [fileURLToPath(new URL(script, import.meta.url))] },
      env: { BENCH_DATABASE_URL: context.databaseUrl, BENCH_API_POOL: String(callers), BENCH_API_PORT: String(port) },
      ready: { kind: 'ipc' },
      startTimeoutMs: API_START_TIMEOUT_MS,
      log: context.log,
      verbose: process.env.BENCH_VERBOSE === '1',
    });
    const apiUrl = `http://127.0.0.1:${port}`;
    // One socket per caller, opened during the warm-up so that connecting is not measured.
    const agent = new Agent({ keepAlive: true, maxSockets: callers });
    try {
      context.log(`${name}: API process ${api.pid} on ${apiUrl}; ${load.summary}`);
      await load.setUp();

      const chargeUrls = accountIds.map((accountId) => new URL(`/v1/accounts/${encodeURIComponent(accountId)}/charges`, apiUrl));
      return await Promise.race([
        api.exited,
        load.measure(async (target, idempotencyKey) => {
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
        }, { pid: api.pid, batchTotals: () => apiBatchTotals(apiUrl) }),
      ]);
    } finally {
      agent.destroy();
      await api.stop();
    }
  } finally {
    await load.close();
  }
}

export const httpCeilingBenchmarks: Benchmark[] = hotAndSpreadChargeBenchmarks((context, name, shape) => runHttpChargeBench(context, name, shape, './http-ceiling-process.ts'), {
  hot: { name: 'http.ceiling.hot', description: 'ledger.charge.hot through a bare node:http handler (no framework, validation, auth, metrics or logs): the ceiling of http.charge.hot' },
  spread: { name: 'http.ceiling.spread', description: 'ledger.charge.spread through the same bare handler: the ceiling of http.charge.spread' },
});

export const httpChargeBenchmarks: Benchmark[] = hotAndSpreadChargeBenchmarks((context, name, shape) => runHttpChargeBench(context, name, shape, './http-api-process.ts'), {
  hot: { name: 'http.charge.hot', description: 'ledger.charge.hot through POST /v1/accounts/{id}/charges on an API process of its own (BENCH_CALLERS, BENCH_CHARGES, BENCH_WARMUP)' },
  spread: { name: 'http.charge.spread', description: 'ledger.charge.spread through the HTTP API: a random one of 1,000 accounts (BENCH_ACCOUNTS, BENCH_SEED, and as above)' },
});
