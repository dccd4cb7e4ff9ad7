/**
 * One call to `credits_charge_batch` (migrations 1730000000007 and 0012) runs a batch of charges
 * and job flushes in one transaction: Node validates and prices each item here, SQL applies the
 * rules (idempotency, gating, the user switch, the re-export window, spending order, no overdraft,
 * balance alerts) under the accounts' locks. Which items share a batch: src/ledger/group-commit.ts.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { GrantSource } from '../contract/fields.js';
import { multiplyMicros, type Micros } from '../money.js';
import type { Queryable } from './db.js';
import type { chargeInput } from './inputs.js';
import { requireFeature, requireUnitPrice, type Replayable } from './internals.js';
import type { Outcome } from './refusals.js';
import type { z } from 'zod';
import { hashRequest } from './request-hash.js';


export interface ChargeResult {
  chargeId: string;
  feature: string;
  credits: Micros;
  billableQuantity: number;
  freeQuantity: number;
  balance: { available: Micros };
  occurredAt: string;
  /** Which grants paid, in spending order. */
  grants: ChargeDraw[];
}

export interface ChargeDraw {
  grantId: string;
  source: GrantSource;
  credits: Micros;
}

/** What `credits_charge_one` reads of one charge: validated, priced and hashed. */
export interface ChargeItem {
  kind: 'charge';
  accountId: string;
  origin: string;
  idempotencyKey: string;
  requestHash: string;
  userId: string;
  feature: string;
  variant: string | null;
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

/** One result of a job's record, as a flush stores it. */
export interface JobRecordResult {
  seq: number;
  recordId: string;
  outcome: string;
  data: unknown;
}

/**
 * What `credits_store_job_results` reads of a job's flush: its results, and which outcomes of its
 * feature are charged. Its hold charge shares a batch with the account's other charges.
 */
export interface JobResultsItem {
  kind: 'job_results';
  accountId: string;
  jobId: string;
  results: readonly JobRecordResult[];
  chargeableOutcomes: readonly string[];
  /** The outcome counted as `failed` (the provider could not answer). */
  failedOutcome: string;
  now: string;
}

export interface StoredJobResults {
  stored: number;
  verified: number;
  notFound: number;
  failed: number;
  credits: Micros;
  /** The hold could not pay for these chargeable results; they were not stored and stay pending. */
  unpaid: number;
  /** The job's cancellation was asked for: nothing was stored or charged, and the batch must stop. */
  cancelled: boolean;
}

/** What one batch (one transaction) holds: charges and job flushes, of one or more accounts. */
export type BatchItem = ChargeItem | JobResultsItem;
/** One outcome per item of a batch: the charge's, or the flush's. */
export type BatchOutcome = ChargeOutcome | Outcome<StoredJobResults>;

/** Runs one item in a batch and answers its own outcome, of its kind. */
export interface BatchRunner {
  (item: ChargeItem): Promise<ChargeOutcome>;
  (item: JobResultsItem): Promise<Outcome<StoredJobResults>>;
}

/** `credits_charge_batch` answers each item with the outcome of its kind. */
export const batchRunner = (run: (item: BatchItem) => Promise<BatchOutcome>): BatchRunner => run as BatchRunner;

/** Prices and hashes a parsed charge; refuses an unknown feature or variant before any query. */
export function chargeItem(catalog: Catalog, input: z.output<typeof chargeInput>): ChargeItem {
  const feature = requireFeature(catalog, input.feature);
  const unitPrice = requireUnitPrice(catalog, feature, input.variant);
  // The most this charge can cost must be an exact amount; the SQL multiplies the billable part.
  multiplyMicros(unitPrice, input.subjectIds?.length ?? input.quantity ?? 1);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  return {
    kind: 'charge',
    accountId,
    origin,
    idempotencyKey,
    requestHash: hashRequest('charge', request),
    userId: input.userId,
    feature: feature.id,
    variant: input.variant ?? null,
    plans: catalog.plansWith(feature),
    unitPrice,
    quantity: input.subjectIds ? null : (input.quantity ?? 1),
    subjectIds: input.subjectIds ?? null,
    subjectGroup: catalog.subjectGroup(feature),
    windowDays: feature.reexportWindowDays ?? null,
    now: now.toISOString(),
  };
}

/** Runs a batch's items in arrival order in one transaction (one round trip); one outcome per item. */
export async function runChargeBatch(client: Queryable, catalog: Catalog, items: readonly BatchItem[]): Promise<BatchOutcome[]> {
  // Named: each connection prepares it once.
  const { rows } = await client.query<{ outcomes: BatchOutcome[] }>({
    name: 'credits_charge_batch',
    text: 'SELECT credits_charge_batch($1::jsonb, $2::jsonb) AS outcomes',
    values: [JSON.stringify(items), unitPrices(catalog)],
  });
  const outcomes = rows[0]?.outcomes;
  if (outcomes?.length !== items.length) throw new Error(`invariant: ${items.length} batch items answered ${String(outcomes?.length)} outcomes`);
  return outcomes;
}

/** Each feature's unit price, as `credits_charge_batch` and `credits_hold_charge` take them. */
const pricesOf = new WeakMap<Catalog, string>();
export function unitPrices(catalog: Catalog): string {
  let prices = pricesOf.get(catalog);
  if (prices === undefined) {
    prices = JSON.stringify(Object.fromEntries([...catalog.features.values()].map((feature) => [feature.id, feature.unitPrice])));
    pricesOf.set(catalog, prices);
  }
  return prices;
}
