/**
 * Why a balance changed: each ledger entry with its cause (the operation behind it, or for a
 * release or expiry the hold or grant it ended), and each charge with the grants that paid for it.
 * Both read in id order a page at a time and narrow by feature, user, job, grant and time.
 */
import type { z } from 'zod';
import type { EntryKind, GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import type { ChargeDraw } from './charge-batch.js';
import { chargesInput, entriesInput, parseInput, type keyOrigin } from './inputs.js';
import { readAccount } from './internals.js';
import type { LedgerScope } from './scope.js';

type KeyOrigin = z.output<typeof keyOrigin>;

/** What made an entry: the fields of its operation, or of the hold a release ends. */
export interface EntryCause {
  /** The operation's kind, or `release` / `expiry` / `revocation` for entries no request made. */
  kind: string;
  idempotencyKey: string | null;
  /** `client` for a caller's key, `engine` for the engine's own (allowances, job charges, holds). */
  origin: KeyOrigin | null;
  feature: string | null;
  variant: string | null;
  userId: string | null;
  quantity: number | null;
  jobId: string | null;
  /** Records charged, for a job's charge. */
  records: number | null;
  /** The charge a refund gives back. */
  refundOf: string | null;
  operator: string | null;
  /** In words: the operator's reason for an adjustment or refund, what ended for a release or expiry. */
  reason: string;
  /** The grant's validity, for a grant entry or an expiry: for an allowance, its period. */
  period: { start: string; end: string | null } | null;
}

export interface LedgerEntryView {
  entryId: number;
  operationId: string | null;
  grantId: string;
  grantSource: GrantSource;
  holdId: string | null;
  kind: EntryKind;
  amount: Micros;
  heldChange: Micros;
  occurredAt: string;
  cause: EntryCause;
}

export interface ChargeListItem {
  chargeId: string;
  kind: 'charge' | 'hold_charge';
  occurredAt: string;
  feature: string;
  variant: string | null;
  userId: string;
  quantity: number;
  credits: Micros;
  refunded: Micros;
  jobId: string | null;
  idempotencyKey: string;
  origin: KeyOrigin;
  grants: ChargeDraw[];
}

interface EntryRow {
  entry_id: number;
  operation_id: string | null;
  grant_id: string;
  hold_id: string | null;
  kind: EntryKind;
  amount: Micros;
  held_change: Micros;
  occurred_at: Date;
  source: GrantSource;
  effective_at: Date;
  expires_at: Date | null;
  expired_at: Date | null;
  operation_kind: string | null;
  idempotency_key: string | null;
  origin: KeyOrigin | null;
  variant: string | null;
  quantity: number | null;
  operator: string | null;
  reason: string | null;
  refund_of: string | null;
  feature: string | null;
  user_id: string | null;
  job_id: string | null;
}

/** Filters shared by entries and charges: `$3..$8` are feature, user, job, grant, from, to. */
const CAUSE_FILTERS = (feature: string, user: string, job: string, grantMatch: string, time: string) => `
   AND ($3::text IS NULL OR ${feature} = $3)
   AND ($4::text IS NULL OR ${user} = $4)
   AND ($5::text IS NULL OR ${job} = $5)
   AND ($6::bigint IS NULL OR ${grantMatch})
   AND ($7::timestamptz IS NULL OR ${time} >= $7)
   AND ($8::timestamptz IS NULL OR ${time} < $8)`;

const ENTRIES_SQL = `
SELECT e.entry_id, e.operation_id::text, e.grant_id::text, e.hold_id::text, e.kind, e.amount, e.held_change, e.occurred_at,
       g.source, g.effective_at, g.expires_at, g.expired_at,
       o.kind AS operation_kind, o.idempotency_key, o.origin, o.variant, o.quantity, o.operator, o.reason, o.refund_of::text,
       coalesce(o.feature, h.feature) AS feature, coalesce(o.user_id, h.user_id) AS user_id, coalesce(o.job_id, h.job_id) AS job_id
  FROM ledger_entries e
  JOIN grants g ON g.grant_id = e.grant_id
  LEFT JOIN operations o ON o.operation_id = e.operation_id
  LEFT JOIN holds h ON h.hold_id = e.hold_id
 WHERE e.account_id = $1 AND e.entry_id > $2
   AND ($9::text IS NULL OR e.kind = $9)
   AND ($10::bigint IS NULL OR e.operation_id = $10)
   ${CAUSE_FILTERS('coalesce(o.feature, h.feature)', 'coalesce(o.user_id, h.user_id)', 'coalesce(o.job_id, h.job_id)', 'e.grant_id = $6', 'e.occurred_at')}
 ORDER BY e.entry_id
 LIMIT $11`;

const CHARGES_SQL = `
SELECT o.operation_id::text AS charge_id, o.kind, o.occurred_at, o.feature, o.variant, o.user_id, o.quantity, o.credits, o.job_id,
       o.idempotency_key, o.origin,
       coalesce((SELECT sum(r.credits) FROM operations r WHERE r.refund_of = o.operation_id), 0)::bigint AS refunded,
       coalesce((SELECT jsonb_agg(jsonb_build_object('grantId', e.grant_id::text, 'source', g.source, 'credits', -e.amount) ORDER BY e.entry_id)
                   FROM ledger_entries e JOIN grants g ON g.grant_id = e.grant_id
                  WHERE e.operation_id = o.operation_id AND e.kind = 'charge'), '[]'::jsonb) AS grants
  FROM operations o
 WHERE o.account_id = $1 AND o.kind IN ('charge', 'hold_charge') AND o.operation_id > $2
   AND ($9::bigint IS NULL OR o.operation_id = $9)
   ${CAUSE_FILTERS('o.feature', 'o.user_id', 'o.job_id', "EXISTS (SELECT 1 FROM ledger_entries d WHERE d.operation_id = o.operation_id AND d.kind = 'charge' AND d.grant_id = $6)", 'o.occurred_at')}
 ORDER BY o.operation_id
 LIMIT $10`;

const GRANTED_BY: Record<GrantSource, string> = {
  allowance: "the period's allowance",
  trial: "the plan's trial",
  purchase: 'a top-up',
  promo: 'a promotion',
  adjustment: "an operator's adjustment",
};

/** The one sentence an operator reads first; structured fields carry the rest. */
function reasonOf(row: EntryRow): string {
  const by = row.user_id === null ? '' : ` by ${row.user_id}`;
  const job = row.job_id === null ? '' : ` for job ${row.job_id}`;
  switch (row.kind) {
    case 'grant':
      return row.reason ?? `${GRANTED_BY[row.source]}${row.operation_kind === 'top_up' ? by : ''}`;
    case 'charge':
      return `${String(row.quantity)} × ${String(row.feature)}${row.variant === null ? '' : ` (${row.variant})`}${by}${job}${row.hold_id === null ? '' : ` from hold ${row.hold_id}`}`;
    case 'hold':
      return `credits held${job} (${String(row.feature)}${by})`;
    case 'release':
      return `hold ${String(row.hold_id)}${job} released what it had not spent`;
    case 'expire':
      if (row.expired_at !== null && row.expired_at < row.effective_at) return `${GRANTED_BY[row.source]} was revoked before it took effect`;
      return `${GRANTED_BY[row.source]} expired${row.hold_id === null ? '' : ` with credits held by hold ${row.hold_id}${job}`}`;
    case 'adjust':
    case 'refund':
      return row.reason ?? row.kind;
  }
}

function causeKind(row: EntryRow): string {
  if (row.operation_kind !== null) return row.operation_kind;
  if (row.kind === 'release') return 'release';
  return row.expired_at !== null && row.expired_at < row.effective_at ? 'revocation' : 'expiry';
}

function entryView(row: EntryRow): LedgerEntryView {
  const ofGrant = row.kind === 'grant' || row.kind === 'expire';
  return {
    entryId: row.entry_id,
    operationId: row.operation_id,
    grantId: row.grant_id,
    grantSource: row.source,
    holdId: row.hold_id,
    kind: row.kind,
    amount: row.amount,
    heldChange: row.held_change,
    occurredAt: row.occurred_at.toISOString(),
    cause: {
      kind: causeKind(row),
      idempotencyKey: row.idempotency_key,
      origin: row.origin,
      feature: row.feature,
      variant: row.variant,
      userId: row.user_id,
      quantity: row.operation_kind === null ? null : row.quantity,
      jobId: row.job_id,
      records: row.operation_kind === 'hold_charge' && row.job_id !== null ? row.quantity : null,
      refundOf: row.refund_of,
      operator: row.operator,
      reason: reasonOf(row),
      period: ofGrant ? { start: row.effective_at.toISOString(), end: row.expires_at?.toISOString() ?? null } : null,
    },
  };
}

function filterValues(input: z.output<typeof entriesInput> | z.output<typeof chargesInput>): unknown[] {
  return [input.feature ?? null, input.userId ?? null, input.jobId ?? null, input.grantId ?? null, input.from ?? null, input.to ?? null];
}

/** Ledger entries of an account in order with their causes, a page at a time (pass the last entryId to continue). */
export async function entries(scope: LedgerScope, raw: z.input<typeof entriesInput>): Promise<LedgerEntryView[]> {
  const input = parseInput(entriesInput, raw);
  await readAccount(scope.db, input.accountId);
  const { rows } = await scope.db.query<EntryRow>(ENTRIES_SQL, [
    input.accountId,
    input.afterEntryId,
    ...filterValues(input),
    input.kind ?? null,
    input.operationId ?? null,
    input.limit,
  ]);
  return rows.map(entryView);
}

/** An account's charges (direct and on holds) in order, each with the grants that paid for it and what was refunded. */
export async function charges(scope: LedgerScope, raw: z.input<typeof chargesInput>): Promise<ChargeListItem[]> {
  const input = parseInput(chargesInput, raw);
  await readAccount(scope.db, input.accountId);
  const { rows } = await scope.db.query<{
    charge_id: string;
    kind: 'charge' | 'hold_charge';
    occurred_at: Date;
    feature: string;
    variant: string | null;
    user_id: string;
    quantity: number;
    credits: Micros;
    job_id: string | null;
    idempotency_key: string;
    origin: KeyOrigin;
    refunded: Micros;
    grants: ChargeDraw[];
  }>(CHARGES_SQL, [input.accountId, input.afterChargeId, ...filterValues(input), input.chargeId ?? null, input.limit]);
  return rows.map((row) => ({
    chargeId: row.charge_id,
    kind: row.kind,
    occurredAt: row.occurred_at.toISOString(),
    feature: row.feature,
    variant: row.variant,
    userId: row.user_id,
    quantity: row.quantity,
    credits: row.credits,
    refunded: row.refunded,
    jobId: row.job_id,
    idempotencyKey: row.idempotency_key,
    origin: row.origin,
    grants: row.grants,
  }));
}
