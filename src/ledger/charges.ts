/** A charge, and a job's flush: each one item of a group-commit batch (src/ledger/charge-batch.ts). */
import type { z } from 'zod';
import { chargeItem, type ChargeResult, type JobResultsItem, type StoredJobResults } from './charge-batch.js';
import { chargeInput, parseInput } from './inputs.js';
import type { Replayable } from './internals.js';
import { unwrap } from './refusals.js';
import type { LedgerScope } from './scope.js';

export type ChargeInput = z.input<typeof chargeInput>;

/** One round trip: `credits_charge_batch` applies every rule, in a batch with concurrent charges. */
export async function charge(scope: LedgerScope, raw: ChargeInput): Promise<Replayable<ChargeResult>> {
  const item = chargeItem(scope.catalog, parseInput(chargeInput, raw));
  return unwrap(await scope.inBatch(item));
}

/**
 * A job's flush (its results stored, its chargeable records charged on its hold) in one round
 * trip, in a batch with the account's concurrent charges.
 */
export async function storeJobResults(scope: LedgerScope, item: JobResultsItem): Promise<StoredJobResults> {
  return unwrap(await scope.inBatch(item));
}
