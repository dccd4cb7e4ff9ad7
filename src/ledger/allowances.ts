/**
 * A period's allowance is written once per account and period, whatever workflow run asks for it:
 * a re-created, reset or continued-as-new account workflow finds the period's live allowance and
 * writes nothing (its key, `engineKeys.allowance`, names the period start, never a run).
 */
import type { Queryable } from './db.js';
import { lockAccount } from './internals.js';
import { ALLOWANCE_KEY_PATTERN } from './keys.js';

/** A period allowance grant `g` with its operation `o` (an upgrade's difference is not one). */
export const ALLOWANCE_GRANT_SQL = `g.source = 'allowance' AND o.idempotency_key ~ '${ALLOWANCE_KEY_PATTERN}'`;

/**
 * Grant `g` was not revoked (written off before it took effect). Naturally expired ones count:
 * their period was granted.
 */
export const NOT_REVOKED_SQL = 'NOT grant_revoked(g.expired_at, g.effective_at)';

export interface PeriodAllowance {
  /** The period's live allowance grants; empty when it has none yet. */
  live: string[];
  /** The first revision no allowance key of this period uses (revoked ones included), so a new one never replays a revoked grant. */
  freeRevision: number;
}

/** What the period already has, read under the account's row lock so that two runs cannot both miss it. */
export async function periodAllowance(client: Queryable, accountId: string, periodStart: Date): Promise<PeriodAllowance> {
  await lockAccount(client, accountId);
  const { rows } = await client.query<{ grant_id: string; live: boolean; revision: number }>(
    `SELECT g.grant_id::text, (${NOT_REVOKED_SQL}) AS live, substring(o.idempotency_key FROM '${ALLOWANCE_KEY_PATTERN}')::int AS revision
       FROM grants g JOIN operations o USING (operation_id)
      WHERE g.account_id = $1 AND g.effective_at = $2 AND ${ALLOWANCE_GRANT_SQL}
      ORDER BY g.grant_id`,
    [accountId, periodStart],
  );
  return {
    live: rows.filter((row) => row.live).map((row) => row.grant_id),
    freeRevision: rows.reduce((free, row) => Math.max(free, row.revision + 1), 0),
  };
}

export interface PeriodTerms {
  accountId: string;
  periodStart: Date;
  revision: number;
  planId: string;
  seats: number;
  contractId: string | null;
  /** What the plan (and contract) said the period's allowance is: its grants must add up to it. */
  allowanceMicros: number;
  now: Date;
}

/** Records the terms a period's allowance is written from, once per period and revision. */
export async function recordPeriodTerms(client: Queryable, terms: PeriodTerms): Promise<void> {
  await client.query(
    `INSERT INTO period_terms (account_id, period_start, revision, plan_id, seats, contract_id, allowance_micros, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, period_start, revision) DO NOTHING`,
    [terms.accountId, terms.periodStart, terms.revision, terms.planId, terms.seats, terms.contractId, terms.allowanceMicros, terms.now],
  );
}
