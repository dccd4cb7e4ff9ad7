/** What a charge would cost and whether the balance covers it, without spending anything. */
import type { z } from 'zod';
import { multiplyMicros, ZERO_MICROS, type Micros } from '../money.js';
import { estimateInput, parseInput } from './inputs.js';
import { authorizeSpend, readAccount, requireFeature, requireUnitPrice, type AccountRow } from './internals.js';
import type { Queryable } from './db.js';
import type { LedgerScope } from './scope.js';

export type EstimateInput = z.input<typeof estimateInput>;

export interface EstimateResult {
  feature: string;
  maxCredits: Micros;
  billableQuantity: number;
  dedupedQuantity: number;
  available: Micros;
  sufficient: boolean;
}

/** Gating as for a charge, the subjects it would bill (its re-export window), and what is spendable now. */
export async function estimate(scope: LedgerScope, raw: EstimateInput): Promise<EstimateResult> {
  const input = parseInput(estimateInput, raw);
  const { catalog, db } = scope;
  const feature = requireFeature(catalog, input.feature);
  const unitPrice = requireUnitPrice(catalog, feature, input.variant);
  const account = await readAccount(db, input.accountId);
  // Gating holds with or without a user: only the per-user switch needs one.
  await authorizeSpend(db, catalog, account, feature, input.userId ?? null, input.now, { register: false });
  const { billable, deduped } = input.subjectIds
    ? await billableSubjects(db, account, input.subjectIds, feature.reexportWindowDays, catalog.subjectGroup(feature), input.now)
    : { billable: input.quantity ?? 1, deduped: input.quantity ?? 1 };
  const maxCredits = multiplyMicros(unitPrice, billable);
  const { rows } = await db.query<{ available: Micros }>('SELECT coalesce(sum(free), 0)::bigint AS available FROM spendable_grants($1, $2, $3)', [
    input.accountId,
    feature.id,
    input.now,
  ]);
  const available = rows[0]?.available ?? ZERO_MICROS;
  return { feature: feature.id, maxCredits, billableQuantity: billable, dedupedQuantity: deduped, available, sufficient: available >= maxCredits };
}

/** Subjects an estimate would bill: `credits_billable_subjects`, the rule a charge applies too. */
async function billableSubjects(
  db: Queryable,
  account: AccountRow,
  subjectIds: readonly string[],
  windowDays: number | undefined,
  subjectGroup: string,
  now: Date,
): Promise<{ billable: number; deduped: number }> {
  const distinct = [...new Set(subjectIds)];
  const { rows } = await db.query<{ billable: number }>('SELECT credits_billable_subjects($1, $2, $3::text[], $4, $5) AS billable', [
    account.account_id,
    subjectGroup,
    distinct,
    windowDays ?? null,
    now,
  ]);
  return { billable: rows[0]?.billable ?? distinct.length, deduped: distinct.length };
}
