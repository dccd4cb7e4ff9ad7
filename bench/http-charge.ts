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
 * that is never used. Accounts are created and funded directly with the ledger, each with exactly
 * what it will be charged plus one unit; every charge must answer 201, not replayed, at the unit
 * price (the first other answer fails the run), and afterwards every account must hold exactly one
 * unit, on top of the ledger audit the runner does.
 *
 * Settings (environment), as the ledger benchmarks: BENCH_CALLERS (32), BENCH_CHARGES and
 * BENCH_WARMUP (hot 2000 + 200, spread 5000 + 500), BENCH_ACCOUNTS (spread, 1000), BENCH_SEED (1).
 */
import { Agent, request } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { startApiServer } from '../src/api/server.js';
import { createTemporalGateway } from '../src/api/temporal-gateway.js';
import { createJobStore } from '../src/jobs/jobs.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger } from '../src/ledger/ledger.js';
import { microsToCredits } from '../src/money.js';
import { envInt, loadFigures, mapConcurrent, runLoad, seededRandom, type BenchContext, type Benchmark, type Figure } from './harness.js';

const PLAN = 'sales-email-pro';
const FEATURE = 'ai.variable';
const ADMIN = 'admin';
const CHARGING_USER = 'u1';
const TOKEN = 'bench-token-0123456789abcdef';
/** Accounts created and funded at once during setup. */
const SETUP_CONCURRENCY = 16;
/** A charge that takes longer than this fails the run rather than hanging it. */
const REQUEST_TIMEOUT_MS = 30_000;

interface ChargeBenchShape {
  name: string;
  /** Environment variable overriding the number of accounts, or none for exactly one. */
  accountsEnv?: string;
  defaultAccounts: number;
  defaultCharges: number;
  defaultWarmup: number;
}

interface HttpAnswer {
  status: number;
  replayed: string | undefined;
  body: string;
}

/** One POST with a JSON body on the keep-alive agent; resolves with the whole answer. */
function postJson(agent: Agent, url: URL, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const replayed = res.headers['idempotent-replayed'];
          resolve({
            status: res.statusCode ?? 0,
            replayed: Array.isArray(replayed) ? replayed.join(',') : replayed,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.pathname} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function runHttpChargeBench(context: BenchContext, shape: ChargeBenchShape): Promise<Figure[]> {
  const callers = envInt('BENCH_CALLERS', 32);
  const charges = envInt('BENCH_CHARGES', shape.defaultCharges);
  const warmup = envInt('BENCH_WARMUP', shape.defaultWarmup, 0);
  const accounts = shape.accountsEnv === undefined ? shape.defaultAccounts : envInt(shape.accountsEnv, shape.defaultAccounts);
  const seed = envInt('BENCH_SEED', 1, 0);
  const { catalog, log } = context;

  const feature = catalog.feature(FEATURE);
  const unitPrice = feature ? catalog.unitPrice(feature) : undefined;
  if (unitPrice === undefined) throw new Error(`the catalog has no priced feature "${FEATURE}"`);
  const unitCredits = microsToCredits(unitPrice);

  const random = seededRandom(seed);
  const accountIds = Array.from({ length: accounts }, (_, index) => `bench-${context.runId}-${shape.name}-${index}`);
  const pick = (): number => Math.floor(random() * accounts);
  const warmupTargets = Uint32Array.from({ length: warmup }, pick);
  const measuredTargets = Uint32Array.from({ length: charges }, pick);
  const chargesPerAccount = new Uint32Array(accounts);
  for (const target of warmupTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;
  for (const target of measuredTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;

  const pool = createPool({ connectionString: context.databaseUrl, max: callers, applicationName: `bench ${shape.name}` });
  // Never connected: no route a charge takes calls Temporal.
  const temporalConnection = Connection.lazy({ address: '127.0.0.1:7233' });
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  try {
    const ledger = createLedger({ pool, catalog });
    const api = await startApiServer(
      {
        pool,
        ledger,
        jobs: createJobStore({ pool, ledger, catalog }),
        catalog,
        temporal: createTemporalGateway({ client: new Client({ connection: temporalConnection }), taskQueue: `bench-${context.runId}` }),
        tokens: [TOKEN],
        logger: pino({ level: 'warn' }, pino.destination(2)),
        now: () => new Date(),
      },
      { port: 0 },
    );
    try {
      log(`${shape.name}: API on ${api.url}; ${callers} callers, ${accounts} account(s), ${warmup} warm-up + ${charges} measured charges`);

      const setupStarted = performance.now();
      await mapConcurrent(accountIds, Math.min(SETUP_CONCURRENCY, callers), async (accountId, index) => {
        const now = new Date();
        await ledger.createAccount({ accountId, planId: PLAN, seats: 1, timeZone: 'UTC', users: [{ userId: ADMIN, role: 'admin' }], now });
        await ledger.topUp({
          accountId,
          userId: ADMIN,
          credits: unitPrice * ((chargesPerAccount[index] ?? 0) + 1),
          idempotencyKey: 'bench-funding',
          now,
        });
      });
      // Opens every connection of the pool now, so that connecting to PostgreSQL is not measured
      // (the warm-up opens the sockets).
      const clients = await Promise.all(Array.from({ length: callers }, () => pool.connect()));
      for (const client of clients) client.release();
      log(`${shape.name}: set up in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);

      const chargeUrls = accountIds.map((accountId) => new URL(`/v1/accounts/${encodeURIComponent(accountId)}/charges`, api.url));
      const charge = (phase: string, targets: Uint32Array) => async (index: number) => {
        const target = targets[index] ?? 0;
        const url = chargeUrls[target];
        if (url === undefined) throw new Error(`no account ${target}`);
        const body = JSON.stringify({ feature: FEATURE, quantity: 1, userId: CHARGING_USER, idempotencyKey: `${phase}-${index}` });
        const answer = await postJson(agent, url, body);
        if (answer.status !== 201 || answer.replayed !== 'false') {
          throw new Error(`${shape.name}: charge ${phase}-${index} on ${accountIds[target] ?? ''} answered ${answer.status} (replayed: ${answer.replayed ?? 'no header'}): ${answer.body}`);
        }
        const result = JSON.parse(answer.body) as { credits?: unknown };
        if (result.credits !== unitCredits) {
          throw new Error(`${shape.name}: unexpected charge result on ${accountIds[target] ?? ''}: ${answer.body}`);
        }
      };
      if (warmup > 0) await runLoad(callers, warmup, charge('warmup', warmupTargets));
      const result = await runLoad(callers, charges, charge('charge', measuredTargets));
      log(`${shape.name}: ${charges} charges in ${result.seconds.toFixed(2)} s`);

      const { rows } = await pool.query<{ wrong: number }>(
        `SELECT count(*)::bigint AS wrong FROM (
           SELECT a.account_id, coalesce(sum(g.remaining), 0) AS remaining
             FROM accounts a LEFT JOIN grants g USING (account_id)
            WHERE a.account_id = ANY ($1::text[]) GROUP BY a.account_id) AS balances
          WHERE remaining <> $2`,
        [accountIds, unitPrice],
      );
      const wrong = rows[0]?.wrong ?? accounts;
      if (wrong > 0) throw new Error(`${shape.name}: ${wrong} account(s) do not end with exactly one unit of credit left`);

      return loadFigures(result, 'charges_per_s');
    } finally {
      agent.destroy();
      await api.close();
    }
  } finally {
    await temporalConnection.close();
    await pool.end();
  }
}

export const httpChargeBenchmarks: Benchmark[] = [
  {
    name: 'http.charge.hot',
    description: 'ledger.charge.hot through POST /v1/accounts/{id}/charges on an in-process API (BENCH_CALLERS, BENCH_CHARGES, BENCH_WARMUP)',
    run: (context) => runHttpChargeBench(context, { name: 'http.charge.hot', defaultAccounts: 1, defaultCharges: 2000, defaultWarmup: 200 }),
  },
  {
    name: 'http.charge.spread',
    description: 'ledger.charge.spread through the HTTP API: a random one of 1,000 accounts (BENCH_ACCOUNTS, BENCH_SEED, and as above)',
    run: (context) => runHttpChargeBench(context, {
        name: 'http.charge.spread',
        accountsEnv: 'BENCH_ACCOUNTS',
        defaultAccounts: 1000,
        defaultCharges: 5000,
        defaultWarmup: 500,
      }),
  },
];
