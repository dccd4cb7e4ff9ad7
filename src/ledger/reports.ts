import { GRANT_SOURCES, type GrantSource, type GrantStatus } from '../contract/fields.js';
import { assertMicros, subtractMicros, sumMicros, ZERO_MICROS, type Micros } from '../money.js';
import type { USAGE_GROUPS } from '../contract/fields.js';
import { accountAtInput, grantsInput, parseInput, usageInput } from './inputs.js';
import { readAccount } from './internals.js';
import type { z } from 'zod';
import type { LedgerScope } from './scope.js';

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
  /** Written off when it expired or was revoked. */
  expired: Micros;
  /** The operation that granted it (an allowance, trial, top-up, promo or adjustment) and its key. */
  operationId: string;
  idempotencyKey: string;
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


interface GrantRow {
  grant_id: string;
  source: GrantSource;
  amount: Micros;
  remaining: Micros;
  held: Micros;
  priority: number;
  effective_at: Date;
  expires_at: Date | null;
  features: string[] | null;
  status: GrantStatus;
  expired: Micros;
  operation_id: string;
  idempotency_key: string;
}

/** A grant row with its status at `$2` (the rule: `grant_status`, migration 1730000000016). */
const GRANT_COLUMNS = `g.grant_id::text, g.source, g.amount, g.remaining, g.held, g.priority, g.effective_at, g.expires_at, g.features,
       o.operation_id::text, o.idempotency_key, w.expired,
       grant_status(g.expired_at, g.effective_at, g.expires_at, g.remaining, w.expired, $2) AS status
  FROM grants g JOIN operations o ON o.operation_id = g.operation_id
  CROSS JOIN LATERAL (SELECT coalesce(-sum(e.amount), 0)::bigint AS expired FROM ledger_entries e WHERE e.grant_id = g.grant_id AND e.kind = 'expire' AND g.expired_at IS NOT NULL) w`;

function grantView(row: GrantRow): GrantView {
  return {
    grantId: row.grant_id,
    source: row.source,
    amount: row.amount,
    remaining: row.remaining,
    held: row.held,
    available: row.status === 'active' ? subtractMicros(row.remaining, row.held) : ZERO_MICROS,
    priority: row.priority,
    effectiveAt: row.effective_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    features: row.features,
    status: row.status,
    expired: row.expired,
    operationId: row.operation_id,
    idempotencyKey: row.idempotency_key,
  };
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
    `SELECT ${GRANT_COLUMNS}
      WHERE g.account_id = $1 AND g.expired_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
        AND (g.remaining > 0 OR g.effective_at > $2)
      ORDER BY g.priority, g.expires_at NULLS LAST, g.features IS NULL, g.effective_at, g.grant_id`,
    [input.accountId, input.now],
  );
  const bySource = Object.fromEntries(GRANT_SOURCES.map((source) => [source, ZERO_MICROS])) as Record<GrantSource, Micros>;
  let available = ZERO_MICROS;
  let held = ZERO_MICROS;
  const grants = rows.map(grantView);
  for (const grant of grants) {
    if (grant.status !== 'active') continue;
    available = sumMicros([available, grant.available]);
    held = sumMicros([held, grant.held]);
    bySource[grant.source] = sumMicros([bySource[grant.source], grant.available]);
  }
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

/** Every grant of the account, whatever its status, in the order they were made, a page at a time. */
export async function listGrants(scope: LedgerScope, raw: z.input<typeof grantsInput>): Promise<GrantView[]> {
  const input = parseInput(grantsInput, raw);
  await readAccount(scope.db, input.accountId);
  const { rows } = await scope.db.query<GrantRow>(
    `SELECT * FROM (SELECT ${GRANT_COLUMNS}
      WHERE g.account_id = $1 AND g.grant_id > $3 AND ($5::text IS NULL OR g.source = $5)) listed
      WHERE ($4::text IS NULL OR listed.status = $4)
      ORDER BY listed.grant_id::bigint LIMIT $6`,
    [input.accountId, input.now, input.afterGrantId, input.status ?? null, input.source ?? null, input.limit],
  );
  return rows.map(grantView);
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
