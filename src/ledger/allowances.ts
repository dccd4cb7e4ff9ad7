/**
 * A period's allowance is written once per account and period, whatever workflow run asks for it:
 * a re-created, reset or continued-as-new account workflow finds the period's live allowance and
 * writes nothing (its key, `engineKeys.allowance`, names the period start, never a run). The rule
 * runs in SQL, `credits_write_allowance` (migration 1730000000020), in one round trip.
 */
import type { Micros } from '../money.js';
import { grantItem } from './grants.js';
import { ALLOWANCE_KEY_PATTERN, engineKeys } from './keys.js';
import { callLedger, json } from './refusals.js';
import type { LedgerScope } from './scope.js';

/** A period allowance grant `g` with its operation `o` (an upgrade's difference is not one). */
export const ALLOWANCE_GRANT_SQL = `g.source = 'allowance' AND o.idempotency_key ~ '${ALLOWANCE_KEY_PATTERN}'`;

/**
 * Grant `g` was not revoked (written off before it took effect). Naturally expired ones count:
 * their period was granted.
 */
export const NOT_REVOKED_SQL = 'NOT grant_revoked(g.expired_at, g.effective_at)';

export interface PeriodAllowanceRequest {
  accountId: string;
  period: { start: Date; end: Date };
  /** The account's write-ahead revision; a revision that a revoked grant of the period used is skipped. */
  revision: number;
  /** The terms the allowance is written from, recorded with it: its grants add up to `allowanceMicros`. */
  planId: string;
  seats: number;
  contractId: string | null;
  allowanceMicros: Micros;
  /** Each becomes its own grant; `features` restricts what it may pay for. */
  allowances: readonly { amount: Micros; features: string[] | null }[];
  now: Date;
}

type WriteAllowanceOutcome = { grantIds: string[] } | { freeRevision: number };

/**
 * The period's allowance grants: those it has already, or those written now (with its terms, and
 * `period.renewed` when the period is under way), in the caller's transaction. One round trip, two
 * when a revoked grant took the requested revision.
 */
export async function writePeriodAllowance(scope: LedgerScope, request: PeriodAllowanceRequest): Promise<string[]> {
  const write = (revision: number): Promise<WriteAllowanceOutcome> => {
    const periodStart = request.period.start.toISOString();
    const grants = request.allowances.flatMap((allowance, index) =>
      allowance.amount === 0
        ? []
        : [
            grantItem(scope.catalog, {
              accountId: request.accountId,
              source: 'allowance',
              credits: allowance.amount,
              effectiveAt: request.period.start,
              expiresAt: request.period.end,
              ...(allowance.features ? { features: allowance.features } : {}),
              ...engineKeys.allowance(periodStart, revision, index),
              now: request.now,
            }),
          ],
    );
    const terms = { planId: request.planId, seats: request.seats, contractId: request.contractId, allowanceMicros: request.allowanceMicros };
    const item = { accountId: request.accountId, periodStart, revision, keyPattern: ALLOWANCE_KEY_PATTERN, terms, grants, now: request.now.toISOString() };
    return callLedger<WriteAllowanceOutcome>(scope.db, 'credits_write_allowance', [json(item)]);
  };
  const first = await write(request.revision);
  if ('grantIds' in first) return first.grantIds;
  const second = await write(first.freeRevision);
  if (!('grantIds' in second)) throw new Error(`invariant: revision ${first.freeRevision} of the period was taken while its account was locked`);
  return second.grantIds;
}
