/**
 * Holds: credits earmarked for a spend whose size is known later (a bulk job), charged from what
 * they earmark in spending order, and released when the spend ends. Each mutation is one call.
 */
import type { z } from 'zod';
import { ZERO_MICROS, type Micros } from '../money.js';
import { unitPrices } from './charge-batch.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import { chargeHoldInput, extendHoldInput, holdRefInput, parseInput, reserveInput } from './inputs.js';
import { requireFeature, type Replayable } from './internals.js';
import { callLedger, json } from './refusals.js';
import { hashRequest } from './request-hash.js';
import type { LedgerScope } from './scope.js';

export type ReserveInput = z.input<typeof reserveInput>;
export type ExtendHoldInput = z.input<typeof extendHoldInput>;
export type ChargeHoldInput = z.input<typeof chargeHoldInput>;
export type HoldRefInput = z.input<typeof holdRefInput>;

export interface HoldResult {
  holdId: string;
  /** Credits this call earmarked: the maximum asked for, or less when the balance is lower. */
  reserved: Micros;
}

export interface HoldState {
  holdId: string;
  accountId: string;
  feature: string;
  userId: string;
  jobId: string | null;
  status: 'open' | 'released';
  /** Credits still earmarked on grants that are spendable now. */
  held: Micros;
  reserved: Micros;
  charged: Micros;
  released: Micros;
  expired: Micros;
}

export interface HoldChargeResult {
  chargeId: string;
  holdId: string;
  credits: Micros;
}

/** One round trip: `credits_reserve` with gating, known users and the switch as for a charge. */
export async function reserve(scope: LedgerScope, raw: ReserveInput): Promise<Replayable<HoldResult>> {
  const input = parseInput(reserveInput, raw);
  const feature = requireFeature(scope.catalog, input.feature);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  return callLedger(scope.db, 'credits_reserve', [
    json({
      accountId,
      origin,
      idempotencyKey,
      requestHash: hashRequest('hold', request),
      userId: input.userId,
      feature: feature.id,
      plans: scope.catalog.plansWith(feature),
      jobId: input.jobId ?? null,
      maxCredits: input.maxCredits,
      now: now.toISOString(),
    }),
  ]);
}

/** One round trip: `credits_reserve` earmarks more for an open hold. */
export async function extendHold(scope: LedgerScope, raw: ExtendHoldInput): Promise<Replayable<HoldResult>> {
  const input = parseInput(extendHoldInput, raw);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  return callLedger(scope.db, 'credits_reserve', [
    json({ accountId, origin, idempotencyKey, requestHash: hashRequest('hold_extend', request), holdId: input.holdId, maxCredits: input.maxCredits, now: now.toISOString() }),
  ]);
}

/** One round trip: `credits_hold_charge` charges from what the hold earmarks, in spending order. */
export async function chargeHold(scope: LedgerScope, raw: ChargeHoldInput): Promise<Replayable<HoldChargeResult>> {
  const input = parseInput(chargeHoldInput, raw);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  const item = { accountId, holdId: input.holdId, quantity: input.quantity, idempotencyKey, origin, requestHash: hashRequest('hold_charge', request), now: now.toISOString() };
  // The function learns the hold's feature itself, so it takes every feature's price.
  return callLedger(scope.db, 'credits_hold_charge', [json(item), { value: unitPrices(scope.catalog), type: 'jsonb' }]);
}

/** Returns every earmark to its grant (`credits_release_hold`); releasing a released hold changes nothing. */
export async function releaseHold(scope: LedgerScope, raw: HoldRefInput): Promise<HoldState> {
  const input = parseInput(holdRefInput, raw);
  await callLedger(scope.db, 'credits_release_hold', [
    { value: input.accountId, type: 'text' },
    { value: input.holdId, type: 'bigint' },
    { value: input.now, type: 'timestamptz' },
  ]);
  return readHold(scope.db, input.accountId, input.holdId, input.now);
}

export async function holdState(scope: LedgerScope, raw: HoldRefInput): Promise<HoldState> {
  const input = parseInput(holdRefInput, raw);
  return readHold(scope.db, input.accountId, input.holdId, input.now);
}

interface HoldRow {
  feature: string;
  user_id: string;
  job_id: string | null;
  released_at: Date | null;
  reserved: Micros;
  charged: Micros;
  released: Micros;
  expired: Micros;
}

async function readHold(db: Queryable, accountId: string, holdId: string, now: Date): Promise<HoldState> {
  const { rows } = await db.query<HoldRow>(
    `SELECT h.feature, h.user_id, h.job_id, h.released_at,
            coalesce(sum(e.held_change) FILTER (WHERE e.kind = 'hold'), 0)::bigint AS reserved,
            coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'charge'), 0)::bigint AS charged,
            coalesce(-sum(e.held_change) FILTER (WHERE e.kind = 'release'), 0)::bigint AS released,
            coalesce(-sum(e.held_change) FILTER (WHERE e.kind = 'expire'), 0)::bigint AS expired
       FROM holds h LEFT JOIN ledger_entries e ON e.hold_id = h.hold_id
      WHERE h.hold_id = $1 AND h.account_id = $2
      GROUP BY h.hold_id`,
    [holdId, accountId],
  );
  const hold = rows[0];
  if (!hold) throw new LedgerError('UNKNOWN_HOLD', `hold ${holdId} does not exist on account "${accountId}"`, { holdId });
  return {
    holdId,
    accountId,
    feature: hold.feature,
    userId: hold.user_id,
    jobId: hold.job_id,
    status: hold.released_at ? 'released' : 'open',
    held: await heldInForce(db, holdId, now),
    reserved: hold.reserved,
    charged: hold.charged,
    released: hold.released,
    expired: hold.expired,
  };
}

/** What a hold still earmarks on grants in force at `now` (earmarks on expired grants are gone). */
async function heldInForce(db: Queryable, holdId: string, now: Date): Promise<Micros> {
  const { rows } = await db.query<{ held: Micros }>(
    `SELECT coalesce(sum(a.held), 0)::bigint AS held FROM hold_allocations a JOIN grants g USING (grant_id)
      WHERE a.hold_id = $1 AND a.held > 0 AND grant_in_force(g.expired_at, g.effective_at, g.expires_at, $2)`,
    [holdId, now],
  );
  return rows[0]?.held ?? ZERO_MICROS;
}
