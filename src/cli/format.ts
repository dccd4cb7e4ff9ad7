import Table from 'cli-table3';
import type { AccountView, AdjustmentView, ContractChangeView, ContractView, JobView, LedgerPage, RefundView, TopUpView, UsageView } from '../client/client.js';
import { microsToCredits, parseCredits, sumMicros, ZERO_MICROS } from '../money.js';

/**
 * What the operator CLI prints for humans: plain tables without colours (they go to logs and
 * pipes as often as to terminals). Every function returns text ending in a newline.
 */

const creditFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Credits as the API gives them, with thousands separators and every decimal kept (at most 6). */
export const displayCredits = (credits: number): string => creditFormat.format(credits);
export const displayCount = (count: number): string => countFormat.format(count);

/** An instant as "2026-01-31 12:00:00Z"; null reads as `none`. */
export function formatInstant(iso: string | null, none = 'never'): string {
  if (iso === null) return none;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

const plain = { style: { head: [], border: [], compact: true } };

function horizontal(head: string[], rows: (string | number)[][], alignRight: number[] = []): string {
  const table = new Table({ ...plain, head, colAligns: head.map((_, index) => (alignRight.includes(index) ? 'right' : 'left')) });
  table.push(...rows);
  return `${table.toString()}\n`;
}

function vertical(rows: [string, string | number][]): string {
  const table = new Table(plain);
  table.push(...rows.map(([name, value]) => ({ [name]: value })));
  return `${table.toString()}\n`;
}

const plural = (count: number, one: string, many = `${one}s`) => `${displayCount(count)} ${count === 1 ? one : many}`;

export function formatAccount(account: AccountView): string {
  const { period, balance, nextPlan } = account;
  const rows: [string, string][] = [
    ['account', account.accountId],
    ['plan', `${account.planId} (${plural(account.seats, 'seat')})`],
    ['status', account.status],
    ['time zone', account.timeZone],
    ['period', period ? `${formatInstant(period.start)} → ${formatInstant(period.end)}` : 'none yet (the account is opening)'],
  ];
  if (period) rows.push(['days left', String(period.daysLeft)]);
  if (nextPlan) rows.push(['next period', `${nextPlan.planId} (${plural(nextPlan.seats, 'seat')})`]);
  rows.push(['available', displayCredits(balance.available)], ['held', displayCredits(balance.held)]);
  for (const [source, credits] of Object.entries(balance.bySource)) rows.push([`  ${source}`, displayCredits(credits)]);
  return vertical(rows);
}

export function formatGrants(account: AccountView): string {
  if (account.grants.length === 0) return `account ${account.accountId} has no grants\n`;
  return horizontal(
    ['grant', 'source', 'amount', 'remaining', 'held', 'available', 'status', 'expires', 'priority'],
    account.grants.map((grant) => [
      grant.id,
      grant.source,
      displayCredits(grant.amount),
      displayCredits(grant.remaining),
      displayCredits(grant.held),
      displayCredits(grant.available),
      grant.status,
      formatInstant(grant.expiresAt),
      grant.priority,
    ]),
    [2, 3, 4, 5, 8],
  );
}

/** Ledger entries; `more` says how to ask for the next page when there is one. */
export function formatLedger(entries: LedgerPage['entries'], more: string | null): string {
  const table =
    entries.length === 0
      ? 'no ledger entries\n'
      : horizontal(
          ['entry', 'occurred', 'kind', 'amount', 'held change', 'grant', 'hold', 'operation'],
          entries.map((entry) => [
            entry.entryId,
            formatInstant(entry.occurredAt),
            entry.kind,
            displayCredits(entry.amount),
            displayCredits(entry.heldChange),
            entry.grantId,
            entry.holdId ?? '',
            entry.operationId ?? '',
          ]),
          [0, 3, 4],
        );
  return more === null ? table : `${table}more entries: ${more}\n`;
}

export function formatUsage(usage: UsageView): string {
  const title = `usage by ${usage.groupBy}, ${formatInstant(usage.from)} → ${formatInstant(usage.to)}\n`;
  if (usage.rows.length === 0) return `${title}no usage in this range\n`;
  const total = usage.rows.reduce(
    (sum, row) => ({
      credits: sumMicros([sum.credits, parseCredits(row.credits)]),
      refunded: sumMicros([sum.refunded, parseCredits(row.refunded)]),
      quantity: sum.quantity + row.quantity,
      charges: sum.charges + row.charges,
    }),
    { credits: ZERO_MICROS, refunded: ZERO_MICROS, quantity: 0, charges: 0 },
  );
  return (
    title +
    horizontal(
      [usage.groupBy, 'credits', 'refunded', 'quantity', 'charges'],
      [
        ...usage.rows.map((row) => [row.key, displayCredits(row.credits), displayCredits(row.refunded), displayCount(row.quantity), displayCount(row.charges)]),
        ['total', displayCredits(microsToCredits(total.credits)), displayCredits(microsToCredits(total.refunded)), displayCount(total.quantity), displayCount(total.charges)],
      ],
      [1, 2, 3],
    )
  );
}

export function formatTopUp(accountId: string, topUp: TopUpView, idempotencyKey: string): string {
  return [
    `added ${displayCredits(topUp.credits)} credits to ${accountId} (grant ${topUp.grantId}, expires ${formatInstant(topUp.expiresAt)})`,
    `available now: ${displayCredits(topUp.balance.available)} credits`,
    `idempotency key: ${idempotencyKey} (repeat safely with --key ${idempotencyKey})`,
    '',
  ].join('\n');
}

const repeatWith = (idempotencyKey: string) => `idempotency key: ${idempotencyKey} (repeat safely with --key ${idempotencyKey})`;

export function formatAdjustment(accountId: string, adjustment: AdjustmentView, idempotencyKey: string): string {
  const { grant } = adjustment;
  const what =
    adjustment.action === 'add'
      ? `added ${displayCredits(adjustment.credits)} ${grant.source} credits to ${accountId} (grant ${grant.grantId}, expires ${formatInstant(grant.expiresAt)})`
      : `removed ${displayCredits(adjustment.credits)} credits from grant ${grant.grantId} of ${accountId} (${displayCredits(grant.remaining)} left on it)`;
  return [`${what}, adjustment ${adjustment.adjustmentId}`, `available now: ${displayCredits(adjustment.balance.available)} credits`, repeatWith(idempotencyKey), ''].join('\n');
}

export function formatRefund(accountId: string, refund: RefundView, idempotencyKey: string): string {
  const lines = [`refund ${refund.refundId} of charge ${refund.chargeId} on ${accountId}: ${displayCredits(refund.credits)} credits`];
  lines.push(`  put back: ${displayCredits(refund.returned)}${refund.expired > 0 ? `; ${displayCredits(refund.expired)} came from grants that have expired and were not put back` : ''}`);
  lines.push(`  charge: ${displayCredits(refund.charge.credits)} charged, ${displayCredits(refund.charge.refunded)} refunded, ${displayCredits(refund.charge.refundable)} still refundable`);
  lines.push(`available now: ${displayCredits(refund.balance.available)} credits`, repeatWith(idempotencyKey), '');
  return lines.join('\n');
}

function contractTerms(terms: ContractView['inForce']): string {
  if (!terms) return 'the plan alone';
  const allowance = terms.allowance ? `${displayCredits(terms.allowance.credits)} credits per period${terms.allowance.perSeat ? ' per seat' : ''}` : "the plan's allowance";
  const features = terms.extraFeatures.length > 0 ? `, extra features ${terms.extraFeatures.join(', ')}` : '';
  return `${allowance}${features} (contract ${terms.contractId} from ${formatInstant(terms.effectiveFrom)}, by ${terms.operator}: ${terms.reason})`;
}

export function formatContract(contract: ContractView): string {
  const lines = [`${contract.accountId}: ${contractTerms(contract.inForce)}`];
  if (contract.scheduled) lines.push(`scheduled: ${contractTerms(contract.scheduled)}`);
  return `${lines.join('\n')}\n`;
}

export function formatContractChange(accountId: string, change: ContractChangeView, idempotencyKey: string): string {
  return [
    `contract ${change.contractId} of ${accountId} in force from ${formatInstant(change.effectiveAt)}`,
    `granted now: ${displayCredits(change.grantedNow)} credits; next period's allowance: ${displayCredits(change.nextAllowance)} credits`,
    repeatWith(idempotencyKey),
    '',
  ].join('\n');
}

const percent = (job: JobView) => (job.progress.total === 0 ? 0 : Math.floor((job.progress.processed / job.progress.total) * 100));
const statusOf = (job: JobView) => (job.pauseReason ? `${job.status} (${job.pauseReason})` : job.status);

export function formatJobs(accountId: string, jobs: JobView[]): string {
  if (jobs.length === 0) return `account ${accountId} has no jobs\n`;
  return horizontal(
    ['job', 'feature', 'user', 'status', 'processed', 'verified', 'reserved', 'charged', 'held', 'updated'],
    jobs.map((job) => [
      job.jobId,
      job.feature,
      job.userId,
      statusOf(job),
      `${displayCount(job.progress.processed)}/${displayCount(job.progress.total)}`,
      displayCount(job.progress.verified),
      displayCredits(job.credits.reserved),
      displayCredits(job.credits.charged),
      displayCredits(job.credits.held),
      formatInstant(job.updatedAt),
    ]),
    [4, 5, 6, 7, 8],
  );
}

export function formatJob(job: JobView): string {
  const { progress, credits } = job;
  const rows: [string, string][] = [
    ['job', job.jobId],
    ['account', job.accountId],
    ['feature', job.feature],
    ['user', job.userId],
    ['status', job.status],
  ];
  if (job.pauseReason) rows.push(['pause reason', job.pauseReason]);
  if (job.stopReason) rows.push(['stop reason', job.stopReason]);
  rows.push(
    ['progress', `${displayCount(progress.processed)}/${displayCount(progress.total)} records (${percent(job)}%)`],
    ['outcomes', `verified ${displayCount(progress.verified)}, not found ${displayCount(progress.notFound)}, failed ${displayCount(progress.failed)}`],
    ['max credits', job.maxCredits === null ? 'none' : displayCredits(job.maxCredits)],
    ['reserved', displayCredits(credits.reserved)],
    ['charged', displayCredits(credits.charged)],
    ['released', displayCredits(credits.released)],
    ['expired', displayCredits(credits.expired)],
    ['held', displayCredits(credits.held)],
    ['created', formatInstant(job.createdAt)],
    ['updated', formatInstant(job.updatedAt)],
  );
  const hint = job.status === 'paused' ? resumeHint(job) : '';
  return vertical(rows) + hint;
}

function resumeHint(job: JobView): string {
  return `the job waits for an explicit resume: top up ${job.accountId} (credits top-up ${job.accountId} <credits> --user <admin>), then run: credits resume ${job.jobId}\n`;
}

/** One line of a watched job's progress, printed whenever it changes when stdout is not a terminal. */
export function jobProgressLine(job: JobView): string {
  const { progress } = job;
  return (
    `${job.jobId} ${statusOf(job)} ${displayCount(progress.processed)}/${displayCount(progress.total)} (${percent(job)}%)` +
    ` verified ${displayCount(progress.verified)} not-found ${displayCount(progress.notFound)} failed ${displayCount(progress.failed)}` +
    ` charged ${displayCredits(job.credits.charged)} credits\n`
  );
}

/** The values a progress bar shows besides its own value and total. */
export function jobBarPayload(job: JobView): { jobId: string; status: string; verified: string; charged: string; counts: string } {
  return {
    jobId: job.jobId,
    status: statusOf(job),
    verified: displayCount(job.progress.verified),
    charged: displayCredits(job.credits.charged),
    counts: `${displayCount(job.progress.processed)}/${displayCount(job.progress.total)}`,
  };
}

/** Why watching a job stops now, or null while it is a draft or running. */
export function watchStopReason(job: JobView): string | null {
  const { progress, credits } = job;
  const done = `${displayCount(progress.processed)} of ${displayCount(progress.total)} records processed, ${displayCount(progress.verified)} verified`;
  const money = `${displayCredits(credits.charged)} credits charged, ${displayCredits(credits.released)} released`;
  switch (job.status) {
    case 'completed':
      return `job ${job.jobId} completed: ${done}; ${money}\n`;
    case 'cancelled':
      return `job ${job.jobId} was cancelled: ${done}; ${money}\n`;
    case 'failed':
      return `job ${job.jobId} failed${job.stopReason ? `: ${job.stopReason}` : ''} (${done}; ${money})\n`;
    case 'paused':
      return `job ${job.jobId} paused (${job.pauseReason ?? 'no reason given'}): ${done}; ${displayCredits(credits.charged)} credits charged\n${resumeHint(job)}`;
    case 'draft':
    case 'running':
      return null;
  }
}
