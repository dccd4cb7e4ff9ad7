import Table from 'cli-table3';
import type { AccountView, AdjustmentView, ApiTokenView, ContractChangeView, ContractView, CreatedApiTokenView, JobResultsPage, JobView, RefundView, SessionTokenView, TopUpView, UsageView } from '../client/client.js';
import { microsToCredits, parseCredits, sumMicros, ZERO_MICROS } from '../money.js';
import { zonedIso } from '../periods/periods.js';

/**
 * What the operator CLI prints for humans: plain tables without colours (they go to logs and
 * pipes as often as to terminals). Every function returns text ending in a newline.
 */

const creditFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const countFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Credits as the API gives them, with thousands separators and every decimal kept (at most 6). */
export const displayCredits = (credits: number): string => creditFormat.format(credits);
export const displayCount = (count: number): string => countFormat.format(count);

/**
 * An instant in the account's time zone, ISO 8601 with its offset ("2026-01-31T13:00:00+01:00"), as
 * the Temporal UI's current details show it; null reads as `none`. `--json` keeps the API's UTC.
 */
export function formatInstant(iso: string | null, timeZone: string, none = 'never'): string {
  return iso === null ? none : zonedIso(iso, timeZone);
}

const plain = { style: { head: [], border: [], compact: true } };

/** A table with a header row; `alignRight` lists the numeric columns. */
export function horizontal(head: string[], rows: (string | number)[][], alignRight: number[] = []): string {
  const table = new Table({ ...plain, head, colAligns: head.map((_, index) => (alignRight.includes(index) ? 'right' : 'left')) });
  table.push(...rows);
  return `${table.toString()}\n`;
}

/** A two-column table of names and values. */
export function vertical(rows: [string, string | number][]): string {
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
    ['period', period ? `${formatInstant(period.start, account.timeZone)} → ${formatInstant(period.end, account.timeZone)}` : 'none yet (the account is opening)'],
  ];
  if (period) rows.push(['days left', String(period.daysLeft)]);
  rows.push(...renewalRows(account));
  if (nextPlan) rows.push(['next period', `${nextPlan.planId} (${plural(nextPlan.seats, 'seat')})`]);
  rows.push(['available', displayCredits(balance.available)], ['held', displayCredits(balance.held)]);
  for (const [source, credits] of Object.entries(balance.bySource)) rows.push([`  ${source}`, displayCredits(credits)]);
  return vertical(rows);
}

/** When the period ends, what comes into force then and what expires by then, as the API's `renewal` says. */
function renewalRows({ renewal, status, timeZone }: AccountView): [string, string][] {
  if (!renewal) return [];
  const item = (grant: { grantId: string; source: string; credits: number }, note = '') => `${displayCredits(grant.credits)} ${grant.source} (grant ${grant.grantId}${note})`;
  const list = (lines: string[]) => (lines.length > 0 ? lines.join('\n') : 'nothing');
  const at = Date.parse(renewal.at);
  return [
    [status === 'active' ? 'renews' : 'ends', formatInstant(renewal.at, timeZone)],
    ['  granted then', list(renewal.grants.map((grant) => item(grant)))],
    ['  expiring', list(renewal.expires.map((grant) => item(grant, Date.parse(grant.expiresAt) === at ? '' : `, at ${formatInstant(grant.expiresAt, timeZone)}`)))],
  ];
}

export function formatUsage(usage: UsageView, timeZone: string): string {
  const title = `usage by ${usage.groupBy}, ${formatInstant(usage.from, timeZone)} → ${formatInstant(usage.to, timeZone)}\n`;
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

/** A replay answers the first top-up's result, so its balance is the one after that top-up, not now. */
export function formatTopUp(accountId: string, topUp: TopUpView, idempotencyKey: string, timeZone: string, replayed: boolean): string {
  const added = `${displayCredits(topUp.credits)} credits to ${accountId} (grant ${topUp.grantId}, expires ${formatInstant(topUp.expiresAt, timeZone)})`;
  const available = `${displayCredits(topUp.balance.available)} credits`;
  const lines = replayed
    ? [`replayed: idempotency key ${idempotencyKey} was used before, so nothing was added now`, `that top-up added ${added}; available after it: ${available}`]
    : [`added ${added}`, `available now: ${available}`, `idempotency key: ${idempotencyKey} (repeat safely with --key ${idempotencyKey})`];
  return [...lines, ''].join('\n');
}

const repeatWith = (idempotencyKey: string) => `idempotency key: ${idempotencyKey} (repeat safely with --key ${idempotencyKey})`;

/** The line before an operator command's answer when its key had been used: the API did nothing new and answered as the first time. */
export function replayNote(replayed: boolean, idempotencyKey: string): string {
  return replayed ? `replayed: idempotency key ${idempotencyKey} was used before, so nothing changed now; its first answer:\n` : '';
}

export function formatAdjustment(accountId: string, adjustment: AdjustmentView, idempotencyKey: string, timeZone: string): string {
  const { grant } = adjustment;
  const what =
    adjustment.action === 'add'
      ? `added ${displayCredits(adjustment.credits)} ${grant.source} credits to ${accountId} (grant ${grant.grantId}, expires ${formatInstant(grant.expiresAt, timeZone)})`
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

function contractTerms(terms: ContractView['inForce'], timeZone: string): string {
  if (!terms) return 'the plan alone';
  const allowance = terms.allowance ? `${displayCredits(terms.allowance.credits)} credits per period${terms.allowance.perSeat ? ' per seat' : ''}` : "the plan's allowance";
  const features = terms.extraFeatures.length > 0 ? `, extra features ${terms.extraFeatures.join(', ')}` : '';
  return `${allowance}${features} (contract ${terms.contractId} from ${formatInstant(terms.effectiveFrom, timeZone)}, by ${terms.operator}: ${terms.reason})`;
}

export function formatContract(contract: ContractView, timeZone: string): string {
  const lines = [`${contract.accountId}: ${contractTerms(contract.inForce, timeZone)}`];
  if (contract.scheduled) lines.push(`scheduled: ${contractTerms(contract.scheduled, timeZone)}`);
  return `${lines.join('\n')}\n`;
}

export function formatContractChange(accountId: string, change: ContractChangeView, idempotencyKey: string, timeZone: string): string {
  return [
    `contract ${change.contractId} of ${accountId} in force from ${formatInstant(change.effectiveAt, timeZone)}`,
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
      formatInstant(job.updatedAt, job.timeZone),
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
    ['still needed', `${displayCredits(credits.needed)} (its pending records at full price, less what it holds)`],
    ['account available', displayCredits(credits.accountAvailable)],
    ['created', formatInstant(job.createdAt, job.timeZone)],
    ['updated', formatInstant(job.updatedAt, job.timeZone)],
  );
  const hint = job.status === 'paused' ? resumeHint(job) : '';
  return vertical(rows) + hint;
}

function resumeHint(job: JobView): string {
  const { needed, accountAvailable } = job.credits;
  return (
    `the job waits for an explicit resume: it needs ${displayCredits(needed)} more credits for its pending records, ${displayCredits(accountAvailable)} are available on ${job.accountId}; ` +
    `top up (credits top-up ${job.accountId} <credits> --user <admin>), then run: credits resume ${job.jobId}\n`
  );
}

/** A page of a job's records with their outcome and what each was charged; `more` says how to ask for the next page. */
export function formatJobRecords(jobId: string, results: JobResultsPage['results'], more: string | null): string {
  const table =
    results.length === 0
      ? `job ${jobId} has no record with an outcome here\n`
      : horizontal(
          ['seq', 'record', 'outcome', 'charged'],
          results.map((result) => [result.seq, result.recordId, result.outcome, displayCredits(result.charged)]),
          [0, 3],
        );
  return more === null ? table : `${table}more records: ${more}\n`;
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

/** The token is the last line, alone, so a script can take it (or read `token` with --json). */
export function formatCreatedToken(token: CreatedApiTokenView): string {
  return [
    `minted ${token.tokenId} "${token.name}" with scope ${token.scope}`,
    `shown this once (only its hash is kept); revoke with: credits token revoke ${token.tokenId}`,
    token.token,
    '',
  ].join('\n');
}

/** Instants in UTC: a token belongs to no account, so to no account's time zone. */
export function formatTokens(tokens: ApiTokenView[]): string {
  if (tokens.length === 0) return 'no minted tokens (API_TOKENS are configured, not listed)\n';
  return horizontal(
    ['token', 'name', 'scope', 'created', 'revoked'],
    tokens.map((token) => [token.tokenId, token.name, token.scope, token.createdAt, token.revokedAt ?? '-']),
  );
}

export function formatRevokedToken(token: ApiTokenView): string {
  return `revoked ${token.tokenId} "${token.name}" (scope ${token.scope}) at ${token.revokedAt ?? '-'}\n`;
}

export function formatSessionToken(session: SessionTokenView): string {
  const can = session.allowTopUp ? `reads ${session.accountId} and buys top-ups as ${session.userId ?? '-'}` : `reads ${session.accountId}`;
  return [`session token: ${can}, until ${session.expiresAt}`, session.token, ''].join('\n');
}
