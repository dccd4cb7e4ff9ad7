/**
 * A period's statement: what the account had when it began, what came in and went out, and what it
 * had when it ended, from the ledger's entries alone, so that it adds up exactly and agrees with
 * the audit (which recomputes every grant from the same entries).
 *
 * Each entry counts in the period where it changed what the account could spend: a grant entry
 * when the grant took effect (an allowance written ahead counts in its own period), an expiry at
 * the last instant its grant was in force (an allowance's remainder leaves in the period it belongs
 * to, even when the write-off ran after the boundary), anything else when it happened. Revoked
 * grants never took effect: their grant and write-off cancel out and are left out.
 */
import type { z } from 'zod';
import { GRANT_SOURCES, type GrantSource } from '../contract/fields.js';
import { assertMicros, sumMicros, ZERO_MICROS, type Micros } from '../money.js';
import { NOT_REVOKED_SQL } from './allowances.js';
import { LedgerError } from './errors.js';
import { parseInput, statementInput } from './inputs.js';
import { readAccount } from './internals.js';
import type { LedgerScope } from './scope.js';

export type BySource = Record<GrantSource, Micros>;

export interface SpendLine {
  key: string;
  credits: Micros;
  quantity: number;
  charges: number;
}

export interface Statement {
  accountId: string;
  timeZone: string;
  period: { start: string; end: string | null; previousStart: string | null; nextStart: string | null };
  /** The period's end once it has ended, or now while it runs (the statement then counts what has happened so far). */
  asOf: string;
  opening: { total: Micros; bySource: BySource };
  granted: { total: Micros; bySource: BySource };
  charged: { total: Micros; byFeature: SpendLine[]; byUser: SpendLine[] };
  refunded: Micros;
  adjusted: Micros;
  expired: { total: Micros; bySource: BySource };
  holds: { placed: Micros; released: Micros; chargedFromHolds: Micros; heldAtClose: Micros };
  closing: { total: Micros; bySource: BySource };
}

/** When an entry changed what could be spent: the rule the module comment states, once. */
const COUNTED_AT = `CASE e.kind
    WHEN 'grant' THEN greatest(e.occurred_at, g.effective_at)
    WHEN 'expire' THEN least(e.occurred_at, coalesce(g.expires_at, e.occurred_at) - interval '1 microsecond')
    ELSE e.occurred_at END`;

const COUNTED_ENTRIES = `
  SELECT e.kind, e.amount, e.held_change, e.hold_id, g.source, o.feature, o.user_id, o.quantity, o.kind AS operation_kind, ${COUNTED_AT} AS counted_at
    FROM ledger_entries e
    JOIN grants g ON g.grant_id = e.grant_id
    LEFT JOIN operations o ON o.operation_id = e.operation_id
   WHERE e.account_id = $1 AND ${NOT_REVOKED_SQL}`;

interface Totals {
  section: 'opening' | 'granted' | 'charged' | 'refunded' | 'adjusted' | 'expired' | 'placed' | 'released' | 'from_holds' | 'held';
  source: GrantSource | null;
  amount: Micros;
}

const TOTALS_SQL = `
WITH counted AS (${COUNTED_ENTRIES})
SELECT 'opening' AS section, source, sum(amount)::bigint AS amount FROM counted WHERE counted_at < $2 GROUP BY source
UNION ALL
SELECT CASE kind WHEN 'grant' THEN 'granted' WHEN 'charge' THEN 'charged' WHEN 'refund' THEN 'refunded' WHEN 'adjust' THEN 'adjusted' ELSE 'expired' END,
       source, abs(sum(amount))::bigint
  FROM counted WHERE counted_at >= $2 AND counted_at < $3 AND kind IN ('grant', 'charge', 'refund', 'adjust', 'expire') GROUP BY 1, source
UNION ALL
SELECT CASE WHEN kind = 'hold' THEN 'placed' WHEN kind = 'charge' THEN 'from_holds' ELSE 'released' END, NULL, abs(sum(held_change))::bigint
  FROM counted WHERE counted_at >= $2 AND counted_at < $3 AND held_change <> 0 AND kind IN ('hold', 'charge', 'release') GROUP BY 1
UNION ALL
SELECT 'held', NULL, coalesce(sum(held_change), 0)::bigint FROM counted WHERE counted_at < $3`;

const LINES_SQL = `
SELECT o.feature, o.user_id, count(*)::int AS charges, sum(o.quantity)::bigint AS quantity, sum(o.credits)::bigint AS credits
  FROM operations o
 WHERE o.account_id = $1 AND o.kind IN ('charge', 'hold_charge') AND o.occurred_at >= $2 AND o.occurred_at < $3
 GROUP BY o.feature, o.user_id
 ORDER BY o.feature, o.user_id`;

/** The start of the period containing `$2`, of the one before it, and of the next one, in one read. */
const PERIODS_SQL = `
WITH containing AS (SELECT max(period_start) AS start FROM period_terms WHERE account_id = $1 AND period_start <= $2)
SELECT c.start,
       (SELECT max(period_start) FROM period_terms WHERE account_id = $1 AND period_start < c.start) AS previous_start,
       (SELECT min(period_start) FROM period_terms WHERE account_id = $1 AND period_start > $2) AS next_start
  FROM containing c`;

function emptyBySource(): BySource {
  return Object.fromEntries(GRANT_SOURCES.map((source) => [source, ZERO_MICROS])) as BySource;
}

const totalOf = (bySource: BySource): Micros => sumMicros(Object.values(bySource));

function spendLines(rows: { key: string; credits: Micros; quantity: number; charges: number }[]): SpendLine[] {
  const lines = new Map<string, SpendLine>();
  for (const row of rows) {
    const line = lines.get(row.key) ?? { key: row.key, credits: ZERO_MICROS, quantity: 0, charges: 0 };
    lines.set(row.key, { key: row.key, credits: sumMicros([line.credits, row.credits]), quantity: line.quantity + row.quantity, charges: line.charges + row.charges });
  }
  return [...lines.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** The period containing `at`, with where the one before began and the next begins. */
async function periodOf(scope: LedgerScope, accountId: string, at: Date): Promise<{ start: Date; end: Date | null; previousStart: Date | null }> {
  const { rows } = await scope.db.query<{ start: Date | null; previous_start: Date | null; next_start: Date | null }>(PERIODS_SQL, [accountId, at]);
  const found = rows[0];
  if (!found?.start) {
    throw new LedgerError('VALIDATION_FAILED', `account "${accountId}" has no billing period at ${at.toISOString()}`, {
      issues: [{ path: 'period', message: 'no period of this account contains this instant' }],
    });
  }
  return { start: found.start, end: found.next_start, previousStart: found.previous_start };
}

/** The statement of the period containing `at`, as of `now`. */
export async function statement(scope: LedgerScope, raw: z.input<typeof statementInput>): Promise<Statement> {
  const input = parseInput(statementInput, raw);
  const account = await readAccount(scope.db, input.accountId);
  const period = await periodOf(scope, input.accountId, input.at);
  // A running period counts what has happened so far: nothing is counted after now but grants
  // written ahead for the next period, which count at its start.
  const until = period.end ?? new Date(input.now.getTime() + 1);
  const asOf = period.end === null || period.end > input.now ? input.now : period.end;
  const [totals, lines] = await Promise.all([
    scope.db.query<Totals>(TOTALS_SQL, [input.accountId, period.start, until]),
    scope.db.query<{ feature: string; user_id: string; charges: number; quantity: number; credits: Micros }>(LINES_SQL, [input.accountId, period.start, until]),
  ]);
  const sections = { opening: emptyBySource(), granted: emptyBySource(), charged: emptyBySource(), refunded: emptyBySource(), adjusted: emptyBySource(), expired: emptyBySource() };
  const holds = { placed: ZERO_MICROS, released: ZERO_MICROS, chargedFromHolds: ZERO_MICROS, heldAtClose: ZERO_MICROS };
  for (const row of totals.rows) {
    if (row.section === 'placed') holds.placed = row.amount;
    else if (row.section === 'released') holds.released = row.amount;
    else if (row.section === 'from_holds') holds.chargedFromHolds = row.amount;
    else if (row.section === 'held') holds.heldAtClose = row.amount;
    else if (row.source !== null) sections[row.section][row.source] = row.amount;
  }
  const closing = emptyBySource();
  for (const source of GRANT_SOURCES) {
    const moved = sections.opening[source] + sections.granted[source] - sections.charged[source] + sections.refunded[source] - sections.adjusted[source] - sections.expired[source];
    assertMicros(moved, `closing ${source}`);
    closing[source] = moved;
  }
  const charged = {
    total: totalOf(sections.charged),
    byFeature: spendLines(lines.rows.map((row) => ({ key: row.feature, credits: row.credits, quantity: row.quantity, charges: row.charges }))),
    byUser: spendLines(lines.rows.map((row) => ({ key: row.user_id, credits: row.credits, quantity: row.quantity, charges: row.charges }))),
  };
  const byLines = sumMicros(lines.rows.map((row) => row.credits));
  if (byLines !== charged.total) throw new Error(`invariant: charges of ${input.accountId} add up to ${byLines}, their entries to ${charged.total}`);
  return {
    accountId: account.account_id,
    timeZone: account.time_zone,
    period: {
      start: period.start.toISOString(),
      end: period.end?.toISOString() ?? null,
      previousStart: period.previousStart?.toISOString() ?? null,
      nextStart: period.end?.toISOString() ?? null,
    },
    asOf: asOf.toISOString(),
    opening: { total: totalOf(sections.opening), bySource: sections.opening },
    granted: { total: totalOf(sections.granted), bySource: sections.granted },
    charged,
    refunded: totalOf(sections.refunded),
    adjusted: totalOf(sections.adjusted),
    expired: { total: totalOf(sections.expired), bySource: sections.expired },
    holds,
    closing: { total: totalOf(closing), bySource: closing },
  };
}
