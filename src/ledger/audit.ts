import { ALLOWANCE_GRANT_SQL, NOT_REVOKED_SQL } from './allowances.js';
import { ALLOWANCE_KEY_PATTERN } from './keys.js';
import type { Queryable } from './db.js';

export interface AuditProblem {
  check: string;
  accountId: string;
  subject: string;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  checked: { accounts: number; grants: number; holds: number; operations: number; entries: number };
  problems: AuditProblem[];
}

/** At most this many problems are reported per check, so a broken ledger still audits quickly. */
const MAX_PROBLEMS_PER_CHECK = 100;

/**
 * Each check is a query returning (account_id, subject, detail) for every row that breaks a rule.
 * Balances are recomputed from the append-only entries, never trusted from the grant rows.
 */
const CHECKS: readonly { check: string; sql: string }[] = [
  {
    check: 'grant_balance_matches_entries',
    sql: `SELECT g.account_id, 'grant ' || g.grant_id AS subject,
                 format('remaining %s held %s, entries say %s and %s', g.remaining, g.held, coalesce(e.amount, 0), coalesce(e.held, 0)) AS detail
            FROM grants g
            LEFT JOIN (SELECT grant_id, sum(amount) AS amount, sum(held_change) AS held FROM ledger_entries GROUP BY grant_id) e USING (grant_id)
           WHERE ($1::text IS NULL OR g.account_id = $1)
             AND (g.remaining <> coalesce(e.amount, 0) OR g.held <> coalesce(e.held, 0))`,
  },
  {
    check: 'grant_amount_matches_grant_entry',
    sql: `SELECT g.account_id, 'grant ' || g.grant_id, format('amount %s, grant entries add %s', g.amount, coalesce(e.amount, 0))
            FROM grants g
            LEFT JOIN (SELECT grant_id, sum(amount) AS amount FROM ledger_entries WHERE kind = 'grant' GROUP BY grant_id) e USING (grant_id)
           WHERE ($1::text IS NULL OR g.account_id = $1) AND g.amount <> coalesce(e.amount, 0)`,
  },
  {
    check: 'no_negative_balance',
    sql: `SELECT account_id, 'grant ' || grant_id, format('remaining %s held %s amount %s', remaining, held, amount)
            FROM grants
           WHERE ($1::text IS NULL OR account_id = $1) AND (remaining < 0 OR held < 0 OR held > remaining OR remaining > amount)`,
  },
  {
    check: 'hold_allocation_matches_entries',
    sql: `SELECT h.account_id, format('hold %s on grant %s', x.hold_id, x.grant_id), format('allocation %s, entries say %s', x.allocated, x.from_entries)
            FROM (SELECT coalesce(a.hold_id, e.hold_id) AS hold_id, coalesce(a.grant_id, e.grant_id) AS grant_id,
                         coalesce(a.held, 0) AS allocated, coalesce(e.held, 0) AS from_entries
                    FROM hold_allocations a
                    FULL JOIN (SELECT hold_id, grant_id, sum(held_change) AS held FROM ledger_entries
                                WHERE hold_id IS NOT NULL GROUP BY hold_id, grant_id) e USING (hold_id, grant_id)) x
            JOIN holds h ON h.hold_id = x.hold_id
           WHERE ($1::text IS NULL OR h.account_id = $1) AND x.allocated <> x.from_entries`,
  },
  {
    check: 'grant_held_matches_allocations',
    sql: `SELECT g.account_id, 'grant ' || g.grant_id, format('held %s, hold allocations add %s', g.held, coalesce(a.held, 0))
            FROM grants g
            LEFT JOIN (SELECT grant_id, sum(held) AS held FROM hold_allocations GROUP BY grant_id) a USING (grant_id)
           WHERE ($1::text IS NULL OR g.account_id = $1) AND g.held <> coalesce(a.held, 0)`,
  },
  {
    check: 'released_hold_holds_nothing',
    sql: `SELECT h.account_id, 'hold ' || h.hold_id, format('released but still holds %s', sum(a.held))
            FROM holds h JOIN hold_allocations a USING (hold_id)
           WHERE ($1::text IS NULL OR h.account_id = $1) AND h.released_at IS NOT NULL
           GROUP BY h.account_id, h.hold_id HAVING sum(a.held) <> 0`,
  },
  {
    check: 'charge_matches_entries',
    sql: `SELECT o.account_id, 'operation ' || o.operation_id, format('%s of %s credits, entries spent %s', o.kind, o.credits, coalesce(e.spent, 0))
            FROM operations o
            LEFT JOIN (SELECT operation_id, -sum(amount) AS spent FROM ledger_entries WHERE kind = 'charge' GROUP BY operation_id) e USING (operation_id)
           WHERE ($1::text IS NULL OR o.account_id = $1) AND o.kind IN ('charge', 'hold_charge') AND o.credits <> coalesce(e.spent, 0)`,
  },
  {
    check: 'operation_completed',
    sql: `SELECT account_id, 'operation ' || operation_id, kind || ' has no stored result'
            FROM operations WHERE ($1::text IS NULL OR account_id = $1) AND result IS NULL`,
  },
  {
    check: 'spent_only_while_valid',
    sql: `SELECT e.account_id, 'entry ' || e.entry_id, format('%s on grant %s at %s, valid %s to %s', e.kind, g.grant_id, e.occurred_at, g.effective_at, g.expires_at)
            FROM ledger_entries e JOIN grants g USING (grant_id)
           WHERE ($1::text IS NULL OR e.account_id = $1) AND e.kind IN ('charge', 'hold')
             AND (e.occurred_at < g.effective_at OR e.occurred_at >= g.expires_at OR e.occurred_at >= g.expired_at)`,
  },
  {
    check: 'expired_grant_is_empty',
    sql: `SELECT account_id, 'grant ' || grant_id, format('expired at %s with remaining %s held %s', expired_at, remaining, held)
            FROM grants WHERE ($1::text IS NULL OR account_id = $1) AND expired_at IS NOT NULL AND (remaining <> 0 OR held <> 0)`,
  },
  {
    check: 'job_records_match_charges',
    sql: `SELECT j.account_id, 'job ' || j.job_id, format('records say %s charged, the ledger %s', coalesce(r.charged, 0), coalesce(o.credits, 0))
            FROM jobs j
            LEFT JOIN (SELECT job_id, sum(charged) AS charged FROM job_records GROUP BY job_id) r USING (job_id)
            LEFT JOIN (SELECT job_id, sum(credits) AS credits FROM operations WHERE kind = 'hold_charge' GROUP BY job_id) o USING (job_id)
           WHERE ($1::text IS NULL OR j.account_id = $1) AND coalesce(r.charged, 0) <> coalesce(o.credits, 0)`,
  },
  {
    check: 'one_allowance_per_period',
    sql: `SELECT a.account_id, 'period from ' || a.effective_at, format('%s live allowance grants (%s) from %s revisions: the period was granted more than once',
                 count(*), string_agg(a.grant_id::text, ', ' ORDER BY a.grant_id), count(DISTINCT a.key[1]))
            FROM (SELECT g.account_id, g.effective_at, g.grant_id, regexp_match(o.idempotency_key, '${ALLOWANCE_KEY_PATTERN}') AS key
                    FROM grants g JOIN operations o USING (operation_id)
                   WHERE ($1::text IS NULL OR g.account_id = $1) AND ${ALLOWANCE_GRANT_SQL} AND ${NOT_REVOKED_SQL}) a
           GROUP BY a.account_id, a.effective_at
          HAVING count(DISTINCT a.key[1]) > 1 OR count(*) > count(DISTINCT a.key[2])`,
  },
  {
    check: 'period_allowance_matches_terms',
    sql: `SELECT t.account_id, format('period from %s, revision %s', t.period_start, t.revision),
                 format('plan %s x %s%s says %s, its live allowance grants add %s', t.plan_id, t.seats,
                        CASE WHEN t.contract_id IS NULL THEN '' ELSE ' with contract ' || t.contract_id END, t.allowance_micros, coalesce(a.live, 0))
            FROM period_terms t
            LEFT JOIN (SELECT g.account_id, g.effective_at, substring(o.idempotency_key FROM '${ALLOWANCE_KEY_PATTERN}')::int AS revision,
                              sum(g.amount) FILTER (WHERE ${NOT_REVOKED_SQL}) AS live, count(*) AS written, count(*) FILTER (WHERE ${NOT_REVOKED_SQL}) AS live_count
                         FROM grants g JOIN operations o USING (operation_id)
                        WHERE ${ALLOWANCE_GRANT_SQL}
                        GROUP BY 1, 2, 3) a
              ON a.account_id = t.account_id AND a.effective_at = t.period_start AND a.revision = t.revision
           WHERE ($1::text IS NULL OR t.account_id = $1)
             AND (coalesce(a.written, 0) = 0 OR a.live_count > 0)
             AND coalesce(a.live, 0) <> t.allowance_micros`,
  },
  {
    check: 'refunds_within_charge',
    sql: `SELECT c.account_id, 'charge ' || c.operation_id, format('charged %s, refunds cover %s (%s put back)', c.credits, r.covered, coalesce(e.returned, 0))
            FROM operations c
            JOIN (SELECT refund_of, sum(credits) AS covered, array_agg(operation_id) AS refunds FROM operations WHERE kind = 'refund' GROUP BY refund_of) r
              ON r.refund_of = c.operation_id
            LEFT JOIN LATERAL (SELECT sum(amount) AS returned FROM ledger_entries WHERE kind = 'refund' AND operation_id = ANY (r.refunds)) e ON true
           WHERE ($1::text IS NULL OR c.account_id = $1) AND (r.covered > c.credits OR coalesce(e.returned, 0) > r.covered)`,
  },
  {
    check: 'entry_has_operation',
    sql: `SELECT e.account_id, 'entry ' || e.entry_id, format('%s entry names operation %s, which is not one of its account', e.kind, e.operation_id)
            FROM ledger_entries e LEFT JOIN operations o ON o.operation_id = e.operation_id AND o.account_id = e.account_id
           WHERE ($1::text IS NULL OR e.account_id = $1) AND e.operation_id IS NOT NULL AND o.operation_id IS NULL`,
  },
  {
    check: 'billed_subject_has_operation',
    sql: `SELECT b.account_id, 'subject ' || b.subject_id, format('billed by operation %s, which is not one of its account', b.operation_id)
            FROM billed_subjects b LEFT JOIN operations o ON o.operation_id = b.operation_id AND o.account_id = b.account_id
           WHERE ($1::text IS NULL OR b.account_id = $1) AND o.operation_id IS NULL`,
  },
  {
    check: 'grant_has_operation',
    sql: `SELECT g.account_id, 'grant ' || g.grant_id, 'no operation created it'
            FROM grants g LEFT JOIN operations o USING (operation_id)
           WHERE ($1::text IS NULL OR g.account_id = $1) AND (o.operation_id IS NULL OR o.kind NOT IN ('grant', 'top_up', 'adjustment'))`,
  },
];

/** Recomputes every grant and hold from the ledger entries and reports every difference. */
export async function auditLedger(pool: Queryable, options: { accountId?: string } = {}): Promise<AuditReport> {
  const accountId = options.accountId ?? null;
  const problems: AuditProblem[] = [];
  for (const { check, sql } of CHECKS) {
    const { rows } = await pool.query<{ account_id: string; subject: string; detail: string }>(
      // Named by position: a check's query need not name its three columns.
      `SELECT * FROM (${sql}) AS found (account_id, subject, detail) LIMIT ${MAX_PROBLEMS_PER_CHECK}`,
      [accountId],
    );
    for (const row of rows) problems.push({ check, accountId: row.account_id, subject: row.subject, detail: row.detail });
  }
  const counts = await pool.query<{ accounts: number; grants: number; holds: number; operations: number; entries: number }>(
    `SELECT (SELECT count(*) FROM accounts WHERE $1::text IS NULL OR account_id = $1)::bigint AS accounts,
            (SELECT count(*) FROM grants WHERE $1::text IS NULL OR account_id = $1)::bigint AS grants,
            (SELECT count(*) FROM holds WHERE $1::text IS NULL OR account_id = $1)::bigint AS holds,
            (SELECT count(*) FROM operations WHERE $1::text IS NULL OR account_id = $1)::bigint AS operations,
            (SELECT count(*) FROM ledger_entries WHERE $1::text IS NULL OR account_id = $1)::bigint AS entries`,
    [accountId],
  );
  const checked = counts.rows[0] ?? { accounts: 0, grants: 0, holds: 0, operations: 0, entries: 0 };
  return { ok: problems.length === 0, checked, problems };
}
