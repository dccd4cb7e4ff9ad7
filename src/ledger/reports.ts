import { GRANT_SOURCES, type GrantSource } from '../contract/fields.js';
import { assertMicros, subtractMicros, sumMicros, ZERO_MICROS, type Micros } from '../money.js';
import type { USAGE_GROUPS } from '../contract/fields.js';
import { accountAtInput, entriesInput, parseInput, usageInput } from './inputs.js';
import { readAccount, type EntryKind } from './internals.js';
import type { z } from 'zod';
import type { LedgerScope } from './scope.js';

export type GrantStatus = 'active' | 'pending' | 'expired' | 'depleted';

export interface GrantView {
  grantId: string;
  source: GrantSource;
  amount: Micros;
  remaining: Micros;
  held: Micros;
  /** Spendable now: remaining minus held, or 0 when the grant is not in force. */
  available: Micros;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  features: string[] | null;
  status: GrantStatus;
}

export interface Balance {
  accountId: string;
  planId: string;
  seats: number;
  status: string;
  timeZone: string;
  asOf: string;
  available: Micros;
  held: Micros;
  bySource: Record<GrantSource, Micros>;
  /** Grants in force or still to come, in spending order. */
  grants: GrantView[];
}

export interface UsageRow {
  key: string;
  credits: Micros;
  /** Refunded in the range, of charges with this key (a refund carries its charge's feature, user and job). */
  refunded: Micros;
  quantity: number;
  charges: number;
}

export interface LedgerEntryView {
  entryId: number;
  operationId: string | null;
  grantId: string;
  holdId: string | null;
  kind: EntryKind;
  amount: Micros;
  heldChange: Micros;
  occurredAt: string;
}

interface GrantRow {
  grant_id: string;
  source: GrantSource;
  amount: Micros;
  remaining: Micros;
  held: Micros;
  priority: number;
  effective_at: Date;
  expires_at: Date | null;
  expired_at: Date | null;
  features: string[] | null;
}

function grantStatus(grant: GrantRow, now: Date): GrantStatus {
  if (grant.expired_at || (grant.expires_at && grant.expires_at <= now)) return 'expired';
  if (grant.effective_at > now) return 'pending';
  return grant.remaining === 0 ? 'depleted' : 'active';
}

const USAGE_KEY: Record<(typeof USAGE_GROUPS)[number], string> = {
  feature: 'o.feature',
  user: 'o.user_id',
  job: "coalesce(o.job_id, '')",
  day: "to_char(o.occurred_at AT TIME ZONE a.time_zone, 'YYYY-MM-DD')",
};

/** Balance as of `now`: validity is decided by the clock, so a grant past expiry counts for nothing. */
export async function balance(scope: LedgerScope, raw: z.input<typeof accountAtInput>): Promise<Balance> {
  const input = parseInput(accountAtInput, raw);
  const account = await readAccount(scope.db, input.accountId);
  const { rows } = await scope.db.query<GrantRow>(
    `SELECT grant_id::text, source, amount, remaining, held, priority, effective_at, expires_at, expired_at, features
       FROM grants
      WHERE account_id = $1 AND expired_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
        AND (remaining > 0 OR effective_at > $2)
      ORDER BY priority, expires_at NULLS LAST, features IS NULL, effective_at, grant_id`,
    [input.accountId, input.now],
  );
  const bySource = Object.fromEntries(GRANT_SOURCES.map((source) => [source, ZERO_MICROS])) as Record<GrantSource, Micros>;
  let available = ZERO_MICROS;
  let held = ZERO_MICROS;
  const grants = rows.map((row): GrantView => {
    const status = grantStatus(row, input.now);
    const spendable = status === 'active' ? subtractMicros(row.remaining, row.held) : ZERO_MICROS;
    if (status === 'active') {
      available = sumMicros([available, spendable]);
      held = sumMicros([held, row.held]);
      bySource[row.source] = sumMicros([bySource[row.source], spendable]);
    }
    return {
      grantId: row.grant_id,
      source: row.source,
      amount: row.amount,
      remaining: row.remaining,
      held: row.held,
      available: spendable,
      priority: row.priority,
      effectiveAt: row.effective_at.toISOString(),
      expiresAt: row.expires_at?.toISOString() ?? null,
      features: row.features,
      status,
    };
  });
  assertMicros(available, 'available');
  assertMicros(held, 'held');
  return {
    accountId: account.account_id,
    planId: account.plan_id,
    seats: account.seats,
    status: account.status,
    timeZone: account.time_zone,
    asOf: input.now.toISOString(),
    available,
    held,
    bySource,
    grants,
  };
}

/** Credits charged and refunded in [from, to), grouped by feature, user, job or day in the account's time zone. */
export async function usage(scope: LedgerScope, raw: z.input<typeof usageInput>): Promise<UsageRow[]> {
  const input = parseInput(usageInput, raw);
  await readAccount(scope.db, input.accountId);
  const key = USAGE_KEY[input.groupBy];
  const { rows } = await scope.db.query<UsageRow>(
    `SELECT ${key} AS key,
            coalesce(sum(o.credits) FILTER (WHERE o.kind <> 'refund'), 0)::bigint AS credits,
            coalesce(sum(o.credits) FILTER (WHERE o.kind = 'refund'), 0)::bigint AS refunded,
            coalesce(sum(o.quantity) FILTER (WHERE o.kind <> 'refund'), 0)::bigint AS quantity,
            count(*) FILTER (WHERE o.kind <> 'refund')::bigint AS charges
       FROM operations o JOIN accounts a USING (account_id)
      WHERE o.account_id = $1 AND o.kind IN ('charge', 'hold_charge', 'refund') AND o.occurred_at >= $2 AND o.occurred_at < $3
      GROUP BY 1 ORDER BY 1`,
    [input.accountId, input.from, input.to],
  );
  return rows;
}

/** Ledger entries of an account in order, a page at a time (pass the last entryId to continue). */
export async function entries(scope: LedgerScope, raw: z.input<typeof entriesInput>): Promise<LedgerEntryView[]> {
  const input = parseInput(entriesInput, raw);
  await readAccount(scope.db, input.accountId);
  const { rows } = await scope.db.query<{
    entry_id: number;
    operation_id: string | null;
    grant_id: string;
    hold_id: string | null;
    kind: EntryKind;
    amount: Micros;
    held_change: Micros;
    occurred_at: Date;
  }>(
    `SELECT entry_id, operation_id::text, grant_id::text, hold_id::text, kind, amount, held_change, occurred_at
       FROM ledger_entries WHERE account_id = $1 AND entry_id > $2 ORDER BY entry_id LIMIT $3`,
    [input.accountId, input.afterEntryId, input.limit],
  );
  return rows.map((row) => ({
    entryId: row.entry_id,
    operationId: row.operation_id,
    grantId: row.grant_id,
    holdId: row.hold_id,
    kind: row.kind,
    amount: row.amount,
    heldChange: row.held_change,
    occurredAt: row.occurred_at.toISOString(),
  }));
}

