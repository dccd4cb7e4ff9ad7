/**
 * A charge is one call to `credits_charge_batch` (migration 1730000000007), a batch of charges at a
 * time: Node validates and prices, SQL applies the rules (idempotency, gating, the user switch, the
 * re-export window, spending order, no overdraft, balance alerts) under the account's lock.
 */
import type { Catalog } from '../catalog/catalog.js';
import { multiplyMicros, type Micros } from '../money.js';
import type { Queryable } from './db.js';
import type { chargeInput } from './inputs.js';
import { hashRequest, requireFeature, requireUnitPrice, type Replayable } from './internals.js';
import { callLedger, json, unwrap, type Outcome } from './refusals.js';
import type { z } from 'zod';

export interface ChargeResult {
  chargeId: string;
  feature: string;
  credits: Micros;
  billableQuantity: number;
  freeQuantity: number;
  balance: { available: Micros };
}

/** What `credits_charge_one` reads of one charge: validated, priced and hashed. */
export interface ChargeItem {
  accountId: string;
  origin: string;
  idempotencyKey: string;
  requestHash: string;
  userId: string;
  feature: string;
  /** The plans whose features include `feature`: gating checks the account's plan against them. */
  plans: string[];
  unitPrice: Micros;
  quantity: number | null;
  subjectIds: string[] | null;
  subjectGroup: string;
  windowDays: number | null;
  now: string;
}

export type ChargeOutcome = Outcome<Replayable<ChargeResult>>;

/** Prices and hashes a parsed charge; refuses an unknown feature or variant before any query. */
export function chargeItem(catalog: Catalog, input: z.output<typeof chargeInput>): ChargeItem {
  const feature = requireFeature(catalog, input.feature);
  const unitPrice = requireUnitPrice(catalog, feature, input.variant);
  // The most this charge can cost must be an exact amount; the SQL multiplies the billable part.
  multiplyMicros(unitPrice, input.subjectIds?.length ?? input.quantity ?? 1);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  return {
    accountId,
    origin,
    idempotencyKey,
    requestHash: hashRequest('charge', request),
    userId: input.userId,
    feature: feature.id,
    plans: catalog.plansWith(feature),
    unitPrice,
    quantity: input.subjectIds ? null : (input.quantity ?? 1),
    subjectIds: input.subjectIds ?? null,
    subjectGroup: catalog.subjectGroup(feature),
    windowDays: feature.reexportWindowDays ?? null,
    now: now.toISOString(),
  };
}

/** Runs charges in arrival order in one transaction (one round trip); one outcome per charge. */
export async function runChargeBatch(client: Queryable, items: readonly ChargeItem[]): Promise<ChargeOutcome[]> {
  // Named: each connection prepares it once.
  const { rows } = await client.query<{ outcomes: ChargeOutcome[] }>({ name: 'credits_charge_batch', text: 'SELECT credits_charge_batch($1::jsonb) AS outcomes', values: [JSON.stringify(items)] });
  const outcomes = rows[0]?.outcomes;
  if (outcomes?.length !== items.length) throw new Error(`invariant: ${items.length} charges answered ${String(outcomes?.length)} outcomes`);
  return outcomes;
}

export interface HoldChargeResult {
  chargeId: string;
  holdId: string;
  credits: Micros;
}

/** What `credits_hold_charge` reads of one charge of a hold's feature. */
export interface HoldChargeItem {
  accountId: string;
  holdId: string;
  quantity: number;
  idempotencyKey: string;
  origin: string;
  requestHash: string;
  now: string;
}

/** Each feature's unit price, as `credits_hold_charge` takes them (it learns the hold's feature itself). */
const pricesOf = new WeakMap<Catalog, string>();
function unitPrices(catalog: Catalog): string {
  let prices = pricesOf.get(catalog);
  if (prices === undefined) {
    prices = JSON.stringify(Object.fromEntries([...catalog.features.values()].map((feature) => [feature.id, feature.unitPrice])));
    pricesOf.set(catalog, prices);
  }
  return prices;
}

/** Charges a hold in one round trip; the result, or the refusal as a LedgerError. */
export function runHoldCharge(client: Queryable, catalog: Catalog, item: HoldChargeItem): Promise<Replayable<HoldChargeResult>> {
  return callLedger(client, 'credits_hold_charge', [json(item), { value: unitPrices(catalog), type: 'jsonb' }]);
}

/** The charge's result, or its refusal as a LedgerError. */
export const chargeResult = (outcome: ChargeOutcome): Replayable<ChargeResult> => unwrap(outcome);
