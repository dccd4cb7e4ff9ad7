import { CHARGE_FEATURE, CHARGING_USER, createChargeLoad, hotAndSpreadChargeBenchmarks, SINGLE_CHARGE_LOAD, type ChargeLoadShape } from './charge-load.js';
import type { BenchContext, Benchmark, Figure } from './harness.js';

/**
 * Single `ledger.charge` calls (quantity 1) straight on the ledger, under the load of
 * bench/charge-load.ts (concurrent callers sharing one pool, seeded accounts, final balance check).
 */
async function runLedgerChargeBench(context: BenchContext, name: string, shape: ChargeLoadShape): Promise<Figure[]> {
  const load = createChargeLoad(context, name, shape);
  try {
    const { ledger, accountIds, unitPrice } = load;
    context.log(`${name}: ${load.summary}`);
    await load.setUp();
    return await load.measure(async (target, idempotencyKey) => {
      const accountId = accountIds[target] ?? '';
      const result = await ledger.charge({ accountId, userId: CHARGING_USER, feature: CHARGE_FEATURE, quantity: 1, idempotencyKey, now: new Date() });
      if (result.replayed || result.credits !== unitPrice) {
        throw new Error(`unexpected charge result on ${accountId}: ${JSON.stringify(result)}`);
      }
    });
  } finally {
    await load.close();
  }
}

export const ledgerChargeBenchmarks: Benchmark[] = [
  {
    name: 'ledger.charge.single',
    description: 'charges from one caller alone: the latency of a charge when nothing else runs (BENCH_CHARGES, BENCH_WARMUP)',
    run: (context) => runLedgerChargeBench(context, 'ledger.charge.single', SINGLE_CHARGE_LOAD),
  },
  ...hotAndSpreadChargeBenchmarks(runLedgerChargeBench, {
    hot: { name: 'ledger.charge.hot', description: 'single charges on one account from concurrent callers (BENCH_CALLERS, BENCH_CHARGES, BENCH_WARMUP)' },
    spread: { name: 'ledger.charge.spread', description: 'single charges on a random one of 1,000 accounts (BENCH_ACCOUNTS, BENCH_SEED, and as above)' },
  }),
];
