import type { ChargePage, GrantPage, LedgerPage, StatementView } from '../client/client.js';
import { GRANT_SOURCES } from '../contract/fields.js';
import { displayCount, displayCredits, formatInstant, horizontal, vertical } from './format.js';

/**
 * What the CLI prints for the ledger explorer (entries with their causes, charges with the grants
 * that paid, every grant, a period's statement), instants in the account's time zone.
 */

const withMore = (table: string, more: string | null) => (more === null ? table : `${table}more: ${more}\n`);

/** Ledger entries with why each happened; `more` says how to ask for the next page when there is one. */
export function formatEntries(entries: LedgerPage['entries'], more: string | null, timeZone: string): string {
  if (entries.length === 0) return 'no ledger entries match\n';
  const table = horizontal(
    ['entry', 'occurred', 'kind', 'amount', 'held', 'grant', 'by', 'key', 'why'],
    entries.map((entry) => [
      entry.entryId,
      formatInstant(entry.occurredAt, timeZone),
      entry.kind,
      displayCredits(entry.amount),
      entry.heldChange === 0 ? '' : displayCredits(entry.heldChange),
      `${entry.grantId} ${entry.grantSource}`,
      entry.operationId === null ? entry.cause.kind : `${entry.cause.kind} ${entry.operationId}`,
      entry.cause.idempotencyKey ?? '',
      entry.cause.reason,
    ]),
    [0, 3, 4],
  );
  return withMore(table, more);
}

const paidBy = (grants: ChargePage['charges'][number]['grants']) =>
  grants.map((grant) => `${displayCredits(grant.credits)} ${grant.source} (grant ${grant.grantId})`).join(', ') || 'nothing (free)';

export function formatCharges(charges: ChargePage['charges'], more: string | null, timeZone: string): string {
  if (charges.length === 0) return 'no charges match\n';
  const table = horizontal(
    ['charge', 'occurred', 'feature', 'user', 'quantity', 'credits', 'refunded', 'job', 'key', 'paid by'],
    charges.map((charge) => [
      charge.chargeId,
      formatInstant(charge.occurredAt, timeZone),
      charge.variant === null ? charge.feature : `${charge.feature} (${charge.variant})`,
      charge.userId,
      displayCount(charge.quantity),
      displayCredits(charge.credits),
      charge.refunded === 0 ? '' : displayCredits(charge.refunded),
      charge.jobId ?? '',
      charge.idempotencyKey,
      paidBy(charge.grants),
    ]),
    [0, 4, 5, 6],
  );
  return withMore(table, more);
}

export function formatGrantList(accountId: string, grants: GrantPage['grants'], more: string | null, timeZone: string): string {
  if (grants.length === 0) return `no grants of ${accountId} match\n`;
  const table = horizontal(
    ['grant', 'source', 'status', 'amount', 'remaining', 'held', 'expired', 'effective', 'expires', 'priority', 'key'],
    grants.map((grant) => [
      grant.id,
      grant.source,
      grant.status,
      displayCredits(grant.amount),
      displayCredits(grant.remaining),
      displayCredits(grant.held),
      displayCredits(grant.expired),
      formatInstant(grant.effectiveAt, timeZone),
      formatInstant(grant.expiresAt, timeZone),
      grant.priority,
      grant.idempotencyKey,
    ]),
    [3, 4, 5, 6, 9],
  );
  return withMore(table, more);
}

/** "100 (allowance 80, purchase 20)": a total and the sources that are not zero. */
function bySource(total: number, sources: StatementView['opening']['bySource']): string {
  const parts = GRANT_SOURCES.filter((source) => sources[source] !== 0).map((source) => `${source} ${displayCredits(sources[source])}`);
  return parts.length === 0 ? displayCredits(total) : `${displayCredits(total)} (${parts.join(', ')})`;
}

const spendLines = (lines: StatementView['charged']['byFeature']) =>
  lines.map((line) => `${line.key} ${displayCredits(line.credits)} (${displayCount(line.charges)} ${line.charges === 1 ? 'charge' : 'charges'}, ${displayCount(line.quantity)} units)`);

export function formatStatement(statement: StatementView): string {
  const zone = statement.timeZone;
  const { period } = statement;
  const closed = period.end !== null && statement.asOf === period.end;
  const title =
    `statement of ${statement.accountId}, period ${formatInstant(period.start, zone)} → ${formatInstant(period.end, zone, 'open')}` +
    `${closed ? '' : ` (running, as of ${formatInstant(statement.asOf, zone)})`}\n`;
  const rows: [string, string][] = [
    ['opening balance', bySource(statement.opening.total, statement.opening.bySource)],
    ['+ granted', bySource(statement.granted.total, statement.granted.bySource)],
    ['− charged', displayCredits(statement.charged.total)],
    ...spendLines(statement.charged.byFeature).map((line): [string, string] => ['    by feature', line]),
    ...spendLines(statement.charged.byUser).map((line): [string, string] => ['    by user', line]),
    ['+ refunded', displayCredits(statement.refunded)],
    ['− adjusted', displayCredits(statement.adjusted)],
    ['− expired', bySource(statement.expired.total, statement.expired.bySource)],
    ['= closing balance', bySource(statement.closing.total, statement.closing.bySource)],
    [
      'holds',
      `placed ${displayCredits(statement.holds.placed)}, charged from holds ${displayCredits(statement.holds.chargedFromHolds)}, ` +
        `released ${displayCredits(statement.holds.released)}, held at close ${displayCredits(statement.holds.heldAtClose)}`,
    ],
  ];
  const navigation = [
    period.previousStart === null ? null : `previous: --period ${period.previousStart}`,
    period.nextStart === null || !closed ? null : `next: --period ${period.nextStart}`,
  ].filter((line) => line !== null);
  return `${title}${vertical(rows)}${navigation.length === 0 ? '' : `${navigation.join('   ')}\n`}`;
}
