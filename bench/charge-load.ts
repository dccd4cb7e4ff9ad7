/**
 * The load that `ledger.charge.*` (bench/ledger-charge.ts, calls the ledger) and `http.charge.*`
 * (bench/http-charge.ts, POSTs to the HTTP API) share, so that the two families differ only in how
 * one charge is made: the same settings, seeded accounts, funding, pool, measurement and final check.
 *
 * Single charges of one unit of CHARGE_FEATURE come from BENCH_CALLERS (32) concurrent callers
 * sharing one pool of as many connections, each on an account drawn at random (BENCH_SEED, 1) from
 * the benchmark's accounts (BENCH_ACCOUNTS where the shape allows it). BENCH_WARMUP charges run
 * unmeasured before the BENCH_CHARGES measured ones. Each account is funded with exactly what it will
 * be charged plus one unit, so afterwards every account must hold exactly one unit: a lost or doubled
 * charge fails the run, on top of the ledger audit the runner does.
 */
import type pg from 'pg';
import { createPool } from '../src/ledger/db.js';
import { createLedger, type Ledger } from '../src/ledger/ledger.js';
import { multiplyMicros, type Micros } from '../src/money.js';
import { envInt, loadFigures, mapConcurrent, runLoad, seededRandom, type BenchContext, type Benchmark, type Figure } from './harness.js';
import { shareOfCeiling, type CeilingName } from './pg-ceiling.js';
import { ledgerMetrics } from '../src/metrics/metrics.js';
import { clockTicksPerSecond, cpuSnapshot, type CpuSnapshot } from './proc-stats.js';

/** The feature every benchmark charge is for, one unit at a time. */
export const CHARGE_FEATURE = 'ai.variable';
/** The user every benchmark charge is made by. */
export const CHARGING_USER = 'u1';
const PLAN = 'sales-email-pro';
const ADMIN = 'admin';
/** Accounts created and funded at once during setup. */
const SETUP_CONCURRENCY = 16;

/** A benchmark's defaults, which the environment can override. */
export interface ChargeLoadShape {
  /** Environment variable overriding the number of accounts, or none for exactly one. */
  accountsEnv?: string;
  defaultAccounts: number;
  defaultCharges: number;
  defaultWarmup: number;
  /** Exactly this many callers, whatever BENCH_CALLERS says. */
  callers?: number;
  /** The one-row-update ceiling `share_of_ceiling` is against (bench/pg-ceiling.ts). */
  ceiling?: CeilingName;
}

/**
 * Every charge on one account: contention on a single balance. Sizes here and in pg-ceiling.ts are
 * seconds of load, not a fraction of one: at 2,000 charges (0.7 s) JIT and scheduling noise moved
 * `share_of_ledger` between 0.55 and 0.79 from one run to the next. 10^5 charges on one balance
 * must end at exactly one unit left: no overdraft under contention.
 */
const HOT_CHARGE_LOAD: ChargeLoadShape = { defaultAccounts: 1, defaultCharges: 100_000, defaultWarmup: 2000, ceiling: 'pg.ceiling.hot' };
/** Every charge on a random one of many accounts: little contention. */
const SPREAD_CHARGE_LOAD: ChargeLoadShape = {
  accountsEnv: 'BENCH_ACCOUNTS',
  defaultAccounts: 1000,
  defaultCharges: 20_000,
  defaultWarmup: 2000,
  ceiling: 'pg.ceiling.spread',
};
/** One caller alone: what a charge costs when nothing else runs (batching must not slow it). */
export const SINGLE_CHARGE_LOAD: ChargeLoadShape = { defaultAccounts: 1, defaultCharges: 1000, defaultWarmup: 100, callers: 1 };

/** Charges per second of each charge bench of a run, so that `http.charge.*` can say its share of `ledger.charge.*`. */
const chargeRates = new Map<string, number>();

/**
 * An HTTP benchmark's rate against the same load's earlier benchmarks of this run: `share_of_ledger`
 * against `ledger.charge.<load>` (what HTTP costs), and for `http.charge.*` `share_of_http_ceiling`
 * against `http.ceiling.<load>` (what the API costs on top of a bare HTTP hop).
 */
function sharesOfOtherCharging(context: BenchContext, name: string, perSecond: number): Figure[] {
  const [family, kind, load] = name.split('.');
  if (family !== 'http' || load === undefined) return [];
  const share = (metric: string, other: string): Figure[] => {
    const rate = chargeRates.get(`${context.runId}:${other}`);
    return rate === undefined ? [] : [{ metric, value: Math.round((perSecond / rate) * 1000) / 1000, unit: 'ratio' }];
  };
  return [...share('share_of_ledger', `ledger.charge.${load}`), ...(kind === 'charge' ? share('share_of_http_ceiling', `http.ceiling.${load}`) : [])];
}

/** What a benchmark is listed as, by the runner and in `npm run bench -- NAME`. */
export interface ChargeBenchmarkListing {
  name: string;
  description: string;
}

/**
 * The hot and the spread benchmark of one way of charging, both running `run` on their shape, so
 * that every family measures the same two loads.
 */
export function hotAndSpreadChargeBenchmarks(
  run: (context: BenchContext, name: string, shape: ChargeLoadShape) => Promise<Figure[]>,
  listings: { hot: ChargeBenchmarkListing; spread: ChargeBenchmarkListing },
): Benchmark[] {
  const { hot, spread } = listings;
  return [
    { ...hot, run: (context) => run(context, hot.name, HOT_CHARGE_LOAD) },
    { ...spread, run: (context) => run(context, spread.name, SPREAD_CHARGE_LOAD) },
  ];
}

/**
 * CPU time per measured charge of each process that takes part: PostgreSQL (its backends), the API
 * process (when there is one), this process (the callers: the ledger itself for `ledger.charge.*`,
 * the HTTP client for `http.charge.*`) and the whole machine, in microseconds, so that a run says
 * where a charge's time goes and what each layer costs.
 */
function cpuPerChargeFigures(from: CpuSnapshot, to: CpuSnapshot, charges: number, apiPid: number | undefined): Figure[] {
  const microsPerTick = 1_000_000 / clockTicksPerSecond();
  const perCharge = (metric: string, ticks: number): Figure => ({ metric, value: Math.round((Math.max(0, ticks) * microsPerTick) / charges), unit: 'us' });
  return [
    perCharge('postgres_cpu_us_per_charge', to.postgres - from.postgres),
    ...(apiPid === undefined ? [] : [perCharge('api_cpu_us_per_charge', to.worker - from.worker)]),
    perCharge('caller_cpu_us_per_charge', to.bench - from.bench),
    perCharge('machine_cpu_us_per_charge', to.machine - from.machine),
  ];
}

/** What a group commit has done so far: the sum and count of `credits_group_commit_batch_size`. */
export interface BatchTotals {
  items: number;
  batches: number;
}

/** The process that runs the ledger the charges go to, when it is not this one. */
export interface ChargeProcess {
  pid: number;
  batchTotals(): Promise<BatchTotals>;
}

async function inProcessBatchTotals(): Promise<BatchTotals> {
  const { values } = await ledgerMetrics.batchSize.get();
  const total = (suffix: string): number => values.find((value) => value.metricName === `credits_group_commit_batch_size${suffix}`)?.value ?? 0;
  return { items: total('_sum'), batches: total('_count') };
}

/** Charges one unit on `accountIds[target]`; throws on any answer but a fresh charge at the unit price. */
export type ChargeOnce = (target: number, idempotencyKey: string) => Promise<void>;

export interface ChargeLoad {
  readonly callers: number;
  /** BENCH_CALLERS connections, the ones the charges run on. */
  readonly pool: pg.Pool;
  readonly ledger: Ledger;
  readonly accountIds: readonly string[];
  /** Price of one unit of CHARGE_FEATURE, in micros. */
  readonly unitPrice: Micros;
  /** Callers, accounts and charges, for the benchmark's opening log line. */
  readonly summary: string;
  /** Creates and funds every account, then opens every connection of the pool. */
  setUp(): Promise<void>;
  /**
   * Runs the warm-up, then the measured charges, then checks every balance; returns the figures.
   * `through` is the API process the charges go through, when they do not call this ledger.
   */
  measure(chargeOnce: ChargeOnce, through?: ChargeProcess): Promise<Figure[]>;
  /** Ends the pool. */
  close(): Promise<void>;
}

/**
 * Reads the settings, draws every charge's account and creates the pool and the ledger; nothing is
 * connected yet, so a benchmark can start what it measures through (an API) before `setUp`. The
 * caller must `close` it.
 */
export function createChargeLoad(context: BenchContext, name: string, shape: ChargeLoadShape): ChargeLoad {
  const callers = shape.callers ?? envInt('BENCH_CALLERS', 32);
  const charges = envInt('BENCH_CHARGES', shape.defaultCharges);
  const warmup = envInt('BENCH_WARMUP', shape.defaultWarmup, 0);
  const accounts = shape.accountsEnv === undefined ? shape.defaultAccounts : envInt(shape.accountsEnv, shape.defaultAccounts);
  const seed = envInt('BENCH_SEED', 1, 0);
  const { catalog, log } = context;

  const feature = catalog.feature(CHARGE_FEATURE);
  const unitPrice = feature ? catalog.unitPrice(feature) : undefined;
  if (unitPrice === undefined) throw new Error(`the catalog has no priced feature "${CHARGE_FEATURE}"`);

  // Warm-up targets are drawn before measured ones: that order is part of what BENCH_SEED reproduces.
  const random = seededRandom(seed);
  const accountIds = Array.from({ length: accounts }, (_, index) => `bench-${context.runId}-${name}-${index}`);
  const pick = (): number => Math.floor(random() * accounts);
  const warmupTargets = Uint32Array.from({ length: warmup }, pick);
  const measuredTargets = Uint32Array.from({ length: charges }, pick);
  const chargesPerAccount = new Uint32Array(accounts);
  for (const target of warmupTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;
  for (const target of measuredTargets) chargesPerAccount[target] = (chargesPerAccount[target] ?? 0) + 1;

  const pool = createPool({ connectionString: context.databaseUrl, max: callers, applicationName: `bench ${name}` });
  const ledger = createLedger({ pool, catalog });

  const setUp = async (): Promise<void> => {
    const setupStarted = performance.now();
    await mapConcurrent(accountIds, Math.min(SETUP_CONCURRENCY, callers), async (accountId, index) => {
      const now = new Date();
      await ledger.createAccount({ accountId, planId: PLAN, seats: 1, timeZone: 'UTC', users: [{ userId: ADMIN, role: 'admin' }, { userId: CHARGING_USER, role: 'member' }], now });
      await ledger.topUp({
        accountId,
        userId: ADMIN,
        credits: multiplyMicros(unitPrice, (chargesPerAccount[index] ?? 0) + 1),
        idempotencyKey: 'bench-funding',
        now,
      });
    });
    // Opens every connection of the pool now (concurrent queries on an idle pool each open one), so
    // that connecting to PostgreSQL is not measured.
    await Promise.all(Array.from({ length: callers }, () => pool.query('SELECT 1')));
    log(`${name}: set up in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`);
  };

  /** Fails the run unless every account ends with exactly the one unit it was funded on top of its charges. */
  const checkBalances = async (): Promise<void> => {
    const { rows } = await pool.query<{ wrong: number }>(
      `SELECT count(*)::bigint AS wrong FROM (
         SELECT a.account_id, coalesce(sum(g.remaining), 0) AS remaining
           FROM accounts a LEFT JOIN grants g USING (account_id)
          WHERE a.account_id = ANY ($1::text[]) GROUP BY a.account_id) AS balances
        WHERE remaining <> $2`,
      [accountIds, unitPrice],
    );
    const wrong = rows[0]?.wrong ?? accounts;
    if (wrong > 0) throw new Error(`${name}: ${wrong} account(s) do not end with exactly one unit of credit left`);
  };

  const measure = async (chargeOnce: ChargeOnce, through?: ChargeProcess): Promise<Figure[]> => {
    const apiPid = through?.pid;
    const batchTotals = through === undefined ? inProcessBatchTotals : () => through.batchTotals();
    // Idempotency keys are unique per phase and charge, so that no charge is a replay of another.
    const chargeFrom = (phase: string, targets: Uint32Array) => (index: number) => chargeOnce(targets[index] ?? 0, `${phase}-${index}`);
    if (warmup > 0) await runLoad(callers, warmup, chargeFrom('warmup', warmupTargets));
    // The API process is counted in the snapshot's `worker` group (its process and children); no Temporal runs.
    const cpuRoots = { worker: apiPid ?? 0, temporal: 0 };
    const batchesBefore = await batchTotals();
    const cpuBefore = cpuSnapshot(cpuRoots, { anyPostgres: false });
    const result = await runLoad(callers, charges, chargeFrom('charge', measuredTargets));
    const cpuAfter = cpuSnapshot(cpuRoots, { anyPostgres: false });
    const batchesAfter = await batchTotals();
    log(`${name}: ${charges} charges in ${result.seconds.toFixed(2)} s`);
    await checkBalances();
    const figures = loadFigures(result, 'charges_per_s');
    const perSecond = result.operations / result.seconds;
    chargeRates.set(`${context.runId}:${name}`, perSecond);
    if (shape.ceiling) figures.push(await shareOfCeiling(context, shape.ceiling, perSecond));
    figures.push(...sharesOfOtherCharging(context, name, perSecond));
    const batches = batchesAfter.batches - batchesBefore.batches;
    if (batches > 0) figures.push({ metric: 'charges_per_batch', value: Math.round(((batchesAfter.items - batchesBefore.items) / batches) * 100) / 100, unit: 'items' });
    figures.push(...cpuPerChargeFigures(cpuBefore, cpuAfter, result.operations, apiPid));
    return figures;
  };

  return {
    callers,
    pool,
    ledger,
    accountIds,
    unitPrice,
    summary: `${callers} callers, ${accounts} account(s), ${warmup} warm-up + ${charges} measured charges`,
    setUp,
    measure,
    close: () => pool.end(),
  };
}
