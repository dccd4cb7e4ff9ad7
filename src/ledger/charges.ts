/** A charge, and a job's flush: each one item of a group-commit batch (src/ledger/charge-batch.ts). */
import type { z } from 'zod';
import { ledgerMetrics, NO_FEATURE } from '../metrics/metrics.js';
import { CreditAmountError } from '../money.js';
import { chargeItem, type ChargeResult, type JobResultsItem, type StoredJobResults } from './charge-batch.js';
import { LedgerError } from './errors.js';
import { chargeInput, parseInput } from './inputs.js';
import type { Replayable } from './internals.js';
import { unwrap } from './refusals.js';
import type { LedgerScope } from './scope.js';

export type ChargeInput = z.input<typeof chargeInput>;

/** A refusal's code (an amount too large to be exact is the API's VALIDATION_FAILED too); `error` for a failure. */
const outcomeOf = (error: unknown): string =>
  error instanceof LedgerError ? error.code : error instanceof CreditAmountError ? 'VALIDATION_FAILED' : 'error';

/**
 * One round trip: `credits_charge_batch` applies every rule, in a batch with concurrent charges.
 * Counted by feature and outcome, and timed from the moment it joins a batch: a refusal before
 * that (an unknown feature, bad input) costs no round trip and would only pull the latency down.
 */
export async function charge(scope: LedgerScope, raw: ChargeInput): Promise<Replayable<ChargeResult>> {
  let feature = NO_FEATURE;
  let outcome = 'error';
  let started: number | undefined;
  try {
    const item = chargeItem(scope.catalog, parseInput(chargeInput, raw));
    feature = item.feature;
    started = performance.now();
    const result = unwrap(await scope.inBatch(item));
    outcome = result.replayed ? 'replayed' : 'charged';
    return result;
  } catch (error) {
    outcome = outcomeOf(error);
    throw error;
  } finally {
    if (started !== undefined) ledgerMetrics.chargeDuration.observe((performance.now() - started) / 1000);
    ledgerMetrics.charges.inc({ feature, outcome });
  }
}

/**
 * A job's flush (its results stored, its chargeable records charged on its hold) in one round
 * trip, in a batch with the account's concurrent charges.
 */
export async function storeJobResults(scope: LedgerScope, item: JobResultsItem): Promise<StoredJobResults> {
  return unwrap(await scope.inBatch(item));
}
