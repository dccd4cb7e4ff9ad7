import { createPool } from '../src/ledger/db.js';
import { createLedger } from '../src/ledger/ledger.js';
import { envInt, loadFigures, mapConcurrent, runLoad, seededRandom, type BenchContext, type Benchmark, type Figure } from './harness.js';

const PLAN = 'sales-email-pro';
const FEATURE = 'ai.variable';
const ADMIN = 'admin';
const CHARGING_USER = 'u1';
/** Accounts created and funded at once during setup. */
const SETUP_CONCURRENCY = 16;

interface ChargeBenchShape {
  name: string;
  /** Environment variable overriding the number of accounts, or none for exactly one. */
  accountsEnv?: string;
  defaultAccounts: number;
  defaultCharges: number;
  defaultWarmup: number;
}

/**
 * Single `ledger.charge` calls (quantity 1) from concurrent callers sharing one pool, each on an
 * account drawn at random (seeded) from the benchmark's accounts. Each account is funded with
 * exactly what it will be charged plus one unit, so afterwards every account must hold exactly
 * one unit: a lost or doubled charge fails the run, on top of the ledger audit.
 */
async function runChargeBench(context: BenchContext, shape: ChargeBenchShape): Promise<Figure[]> {
  const callers = envInt('BENCH_CALLERS', 32);
  const charges = envInt('BENCH_CHARGES', shape.defaultCharges);
  const warmup = envInt('BENCH_WARMUP', shape.defaultWarmup, 0);
  const accounts = shape.accountsEnv === undefined ? shape.defaultAccounts : envInt(shape.accountsEnv, shape.defaultAccounts);
  const seed = envInt('BENCH_SEED', 1, 0);
  const { catalog, log } = context;

  const feature = catalog.feature(FEATURE);
  const unitPrice = feature ? catalog.unitPrice(feature) : undefined;
  if (unitPrice === undefined) throw new Error(`the catalog has no priced feature "${FEATURE}"`);

  const random = seededRandom(seed);
  const accountIds = Array.from({ length: accounts }, (_, index) => `bench-${context.runId}-${shape.name}-${index}`);
  const pick = (): number => Math.floor(random() * accounts);
  const warmupTargets = Uint32Array.from({ length: warmup }, pick);
  const measuredTargets = Uint32Array.from({ length: charges }, pick);
  const chargesPerAccount = new Uint32Array(accounts);
  for (const target of warmupTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;
  for (const target of measuredTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;

  const pool = createPool({ connectionString: context.databaseUrl, max: callers, applicationName: `bench ${shape.name}` });
  try {
    const ledger = createLedger({ pool, catalog });
    log(`${shape.name}: ${callers} callers, ${accounts} account(s), ${warmup} warm-up + ${charges} measured charges`);

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
    // Opens every connection of the pool now, so that connecting is not measured.
    const clients = await Promise.all(Array.from({ length: callers }, () => pool.connect()));
    for (const client of clients) client.release();
    log(`${shape.name}: set up in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);

    const charge = (phase: string, targets: Uint32Array) => async (index: number) => {
      const accountId = accountIds[targets[index] ?? 0] ?? '';
      const result = await ledger.charge({
        accountId,
        userId: CHARGING_USER,
        feature: FEATURE,
        quantity: 1,
        idempotencyKey: `${phase}-${index}`,
        now: new Date(),
      });
      if (result.replayed || result.credits !== unitPrice) {
        throw new Error(`unexpected charge result on ${accountId}: ${JSON.stringify(result)}`);
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
    await pool.end();
  }
}

export const ledgerChargeBenchmarks: Benchmark[] = [
  {
    name: 'ledger.charge.hot',
    description: 'single charges on one account from concurrent callers (BENCH_CALLERS, BENCH_CHARGES, BENCH_WARMUP)',
    run: (context) => runChargeBench(context, { name: 'ledger.charge.hot', defaultAccounts: 1, defaultCharges: 2000, defaultWarmup: 200 }),
  },
  {
    name: 'ledger.charge.spread',
    description: 'single charges on a random one of 1,000 accounts (BENCH_ACCOUNTS, BENCH_SEED, and as above)',
    run: (context) => runChargeBench(context, {
        name: 'ledger.charge.spread',
        accountsEnv: 'BENCH_ACCOUNTS',
        defaultAccounts: 1000,
        defaultCharges: 5000,
        defaultWarmup: 500,
      }),
  },
];
