import { randomUUID } from 'node:crypto';
import type { JobListParams, LedgerPage, UsageParams } from '../client/client.js';
import { LIMITS } from '../contract/limits.js';
import { connect, type ApiOptions } from './api.js';
import { formatAccount, formatAdjustment, formatContract, formatContractChange, formatGrants, formatJob, formatJobs, formatLedger, formatRefund, formatTopUp, formatUsage } from './format.js';
import { watchJob } from './watch.js';

/**
 * The operator commands that talk to the HTTP API through the typed client. Each prints a human
 * table by default, or with --json exactly what the API answered.
 */

function print<T>(options: ApiOptions, value: T, human: (value: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : human(value));
}

export async function balance(accountId: string, options: ApiOptions): Promise<void> {
  print(options, await connect(options).getAccount(accountId), formatAccount);
}

export async function grants(accountId: string, options: ApiOptions): Promise<void> {
  const account = await connect(options).getAccount(accountId);
  print(options, account.grants, () => formatGrants(account));
}

export interface LedgerOptions extends ApiOptions {
  after?: number;
  limit?: number;
  all?: boolean;
}

/** One page of entries from --after, or with --all every page from there (then `nextAfter` is null). */
export async function ledger(accountId: string, options: LedgerOptions): Promise<void> {
  const client = connect(options);
  const limitFlag = options.limit === undefined ? '' : ` --limit ${options.limit}`;
  if (!options.all) {
    const page = await client.ledger(accountId, { after: options.after ?? 0, ...(options.limit === undefined ? {} : { limit: options.limit }) });
    print(options, page, ({ entries, nextAfter }) =>
      formatLedger(entries, nextAfter === null ? null : `credits ledger ${accountId} --after ${nextAfter}${limitFlag} (or --all)`),
    );
    return;
  }
  const all: LedgerPage = { entries: [], nextAfter: null };
  let after = options.after ?? 0;
  for (;;) {
    const page = await client.ledger(accountId, { after, limit: options.limit ?? LIMITS.maxPageSize });
    all.entries.push(...page.entries);
    if (page.nextAfter === null) break;
    if (page.nextAfter <= after) throw new Error(`the API's ledger cursor did not advance past ${after}`);
    after = page.nextAfter;
  }
  print(options, all, ({ entries }) => formatLedger(entries, null));
}

export interface UsageOptions extends ApiOptions {
  from: string;
  to: string;
  by?: NonNullable<UsageParams['groupBy']>;
}

export async function usage(accountId: string, options: UsageOptions): Promise<void> {
  const view = await connect(options).usage(accountId, { from: options.from, to: options.to, ...(options.by ? { groupBy: options.by } : {}) });
  print(options, view, formatUsage);
}

export interface TopUpOptions extends ApiOptions {
  user: string;
  key?: string;
  expires?: string;
}

/** Buys credits; without --key a fresh idempotency key is made and printed so the operator can repeat safely. */
export async function topUp(accountId: string, credits: number, options: TopUpOptions): Promise<void> {
  const idempotencyKey = options.key ?? `cli-top-up-${randomUUID()}`;
  const result = await connect(options).topUp(accountId, {
    credits,
    userId: options.user,
    idempotencyKey,
    ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
  });
  // --json keeps stdout to the API's answer; the key still reaches the operator.
  if (options.json && options.key === undefined) process.stderr.write(`idempotency key: ${idempotencyKey}\n`);
  print(options, result, (view) => formatTopUp(accountId, view, idempotencyKey));
}

interface OperatorOptions extends ApiOptions {
  operator: string;
  reason: string;
  key?: string;
}

/** The operator's key, or a fresh one told to them (on stderr with --json) so they can repeat safely. */
function operatorKey(options: { key?: string; json?: boolean }, kind: string): string {
  if (options.key !== undefined) return options.key;
  const key = `cli-${kind}-${randomUUID()}`;
  if (options.json) process.stderr.write(`idempotency key: ${key}\n`);
  return key;
}

const featureList = (features: string | undefined): string[] | undefined => features?.split(',').map((feature) => feature.trim()).filter((feature) => feature.length > 0);

export interface AddCreditsOptions extends OperatorOptions {
  source: 'promo' | 'adjustment';
  expires?: string;
  features?: string;
}

export async function addCredits(accountId: string, credits: number, options: AddCreditsOptions): Promise<void> {
  const idempotencyKey = operatorKey(options, 'adjustment');
  const features = featureList(options.features);
  const result = await connect(options).adjust(accountId, {
    action: 'add',
    source: options.source,
    credits,
    operator: options.operator,
    reason: options.reason,
    idempotencyKey,
    ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
    ...(features ? { features } : {}),
  });
  print(options, result, (view) => formatAdjustment(accountId, view, idempotencyKey));
}

export async function removeCredits(accountId: string, grantId: string, credits: number, options: OperatorOptions): Promise<void> {
  const idempotencyKey = operatorKey(options, 'adjustment');
  const result = await connect(options).adjust(accountId, { action: 'remove', grantId, credits, operator: options.operator, reason: options.reason, idempotencyKey });
  print(options, result, (view) => formatAdjustment(accountId, view, idempotencyKey));
}

export interface RefundOptions extends OperatorOptions {
  credits?: number;
}

export async function refund(accountId: string, chargeId: string, options: RefundOptions): Promise<void> {
  const idempotencyKey = operatorKey(options, 'refund');
  const result = await connect(options).refund(accountId, chargeId, {
    operator: options.operator,
    reason: options.reason,
    idempotencyKey,
    ...(options.credits === undefined ? {} : { credits: options.credits }),
  });
  print(options, result, (view) => formatRefund(accountId, view, idempotencyKey));
}

export interface ContractOptions extends ApiOptions {
  allowance?: number;
  perSeat?: boolean;
  features?: string;
  effective: 'now' | 'next_period';
  operator?: string;
  reason?: string;
  key?: string;
}

/** Shows the contract; with --operator and --reason sets it (terms not given are the plan's). */
export async function contract(accountId: string, options: ContractOptions): Promise<void> {
  const client = connect(options);
  if (options.operator === undefined && options.reason === undefined) {
    print(options, await client.getContract(accountId), formatContract);
    return;
  }
  if (options.operator === undefined || options.reason === undefined) throw new Error('setting a contract needs both --operator and --reason');
  const idempotencyKey = operatorKey(options, 'contract');
  const result = await client.setContract(accountId, {
    allowance: options.allowance === undefined ? null : { credits: options.allowance, perSeat: options.perSeat === true },
    extraFeatures: featureList(options.features) ?? [],
    effective: options.effective,
    operator: options.operator,
    reason: options.reason,
    idempotencyKey,
  });
  print(options, result, (view) => formatContractChange(accountId, view, idempotencyKey));
}

export interface JobsOptions extends ApiOptions {
  status?: NonNullable<JobListParams['status']>;
  limit?: number;
}

export async function jobs(accountId: string, options: JobsOptions): Promise<void> {
  const list = await connect(options).listJobs(accountId, {
    ...(options.status ? { status: options.status } : {}),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
  print(options, list, ({ jobs: views }) => formatJobs(accountId, views));
}

export interface JobOptions extends ApiOptions {
  watch?: boolean;
}

/** A job's state; with --watch its progress until it stops (with --json the progress goes to stderr and the final state to stdout). */
export async function job(jobId: string, options: JobOptions): Promise<void> {
  const client = connect(options);
  if (!options.watch) {
    print(options, await client.getJob(jobId), formatJob);
    return;
  }
  const final = await watchJob(client, jobId, options.json ? process.stderr : process.stdout);
  if (options.json) print(options, final, formatJob);
}

export async function resume(jobId: string, options: ApiOptions): Promise<void> {
  const view = await connect(options).resumeJob(jobId);
  print(options, view, (resumed) => `resume: job ${jobId} is now ${resumed.status}\n${formatJob(resumed)}`);
}

export async function cancel(jobId: string, options: ApiOptions): Promise<void> {
  const view = await connect(options).cancelJob(jobId);
  print(options, view, (cancelled) => `cancel: job ${jobId} is now ${cancelled.status}\n${formatJob(cancelled)}`);
}
