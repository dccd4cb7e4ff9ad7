import { randomUUID } from 'node:crypto';
import type { ApiScope } from '../contract/fields.js';
import type { CreditsClient, JobListParams, UsageParams } from '../client/client.js';
import { connect, UsageError, type ApiOptions } from './api.js';
import {
  formatAccount,
  formatAdjustment,
  formatContract,
  formatContractChange,
  formatCreatedToken,
  formatJob,
  formatJobRecords,
  formatJobs,
  formatRefund,
  formatRevokedToken,
  formatSessionToken,
  formatTokens,
  formatTopUp,
  formatUsage,
  replayNote,
} from './format.js';
import { watchJob } from './watch.js';

/**
 * The operator commands that talk to the HTTP API through the typed client. Each prints a human
 * table by default, or with --json exactly what the API answered.
 */

const asJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function print<T>(options: ApiOptions, value: T, human: (value: T) => string): void {
  process.stdout.write(options.json ? asJson(value) : human(value));
}

/**
 * `print` for an answer about an account whose instants people read in the account's time zone:
 * one more request asks the account for it. With --json the API's answer (in UTC) needs none.
 */
export async function printForAccount<T>(options: ApiOptions, client: CreditsClient, accountId: string, value: T, human: (value: T, timeZone: string) => string): Promise<void> {
  if (options.json) {
    process.stdout.write(asJson(value));
    return;
  }
  const { timeZone } = await client.getAccount(accountId);
  process.stdout.write(human(value, timeZone));
}

/**
 * A client that notes whether the last answer with an Idempotent-Replayed header was a replay: the
 * client's results leave headers out, and the operator must know that a repeat with a used key did
 * nothing new. Only idempotent mutations carry the header; reads (the time zone's) leave it as it is.
 */
function connectNotingReplays(options: ApiOptions): { client: CreditsClient; replayed: () => boolean } {
  let replayed = false;
  const client = connect(options, (response) => {
    const header = response.headers.get('idempotent-replayed');
    if (header !== null) replayed = header === 'true';
  });
  return { client, replayed: () => replayed };
}

export async function balance(accountId: string, options: ApiOptions): Promise<void> {
  print(options, await connect(options).getAccount(accountId), formatAccount);
}

export interface UsageOptions extends ApiOptions {
  from?: string;
  to?: string;
  by?: NonNullable<UsageParams['groupBy']>;
}

/** Usage over [--from, --to); a bound left out is that of the account's current period. */
export async function usage(accountId: string, options: UsageOptions): Promise<void> {
  const client = connect(options);
  const range = options.from !== undefined && options.to !== undefined ? { from: options.from, to: options.to } : await currentPeriodRange(client, accountId, options);
  const view = await client.usage(accountId, { ...range, ...(options.by ? { groupBy: options.by } : {}) });
  await printForAccount(options, client, accountId, view, formatUsage);
}

async function currentPeriodRange(client: CreditsClient, accountId: string, given: { from?: string; to?: string }): Promise<{ from: string; to: string }> {
  const { period } = await client.getAccount(accountId);
  if (period === null) throw new UsageError(`${accountId} has no current period yet (it is opening): give --from and --to`);
  return { from: given.from ?? period.start, to: given.to ?? period.end };
}

export interface TopUpOptions extends ApiOptions {
  user: string;
  key?: string;
  expires?: string;
}

/**
 * Buys credits; without --key a fresh idempotency key is made and printed so the operator can repeat
 * safely. A replay (a key used before) says so: the API tells in its Idempotent-Replayed header.
 */
export async function topUp(accountId: string, credits: number, options: TopUpOptions): Promise<void> {
  const idempotencyKey = options.key ?? `cli-top-up-${randomUUID()}`;
  const { client, replayed } = connectNotingReplays(options);
  const result = await client.topUp(accountId, {
    credits,
    userId: options.user,
    idempotencyKey,
    ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
  });
  // --json keeps stdout to the API's answer; the key still reaches the operator.
  if (options.json && options.key === undefined) process.stderr.write(`idempotency key: ${idempotencyKey}\n`);
  await printForAccount(options, client, accountId, result, (view, timeZone) => formatTopUp(accountId, view, idempotencyKey, timeZone, replayed()));
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
  const { client, replayed } = connectNotingReplays(options);
  const result = await client.adjust(accountId, {
    action: 'add',
    source: options.source,
    credits,
    operator: options.operator,
    reason: options.reason,
    idempotencyKey,
    ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
    ...(features ? { features } : {}),
  });
  await printForAccount(options, client, accountId, result, (view, timeZone) => replayNote(replayed(), idempotencyKey) + formatAdjustment(accountId, view, idempotencyKey, timeZone));
}

export async function removeCredits(accountId: string, grantId: string, credits: number, options: OperatorOptions): Promise<void> {
  const idempotencyKey = operatorKey(options, 'adjustment');
  const { client, replayed } = connectNotingReplays(options);
  const result = await client.adjust(accountId, { action: 'remove', grantId, credits, operator: options.operator, reason: options.reason, idempotencyKey });
  await printForAccount(options, client, accountId, result, (view, timeZone) => replayNote(replayed(), idempotencyKey) + formatAdjustment(accountId, view, idempotencyKey, timeZone));
}

export interface RefundOptions extends OperatorOptions {
  credits?: number;
}

export async function refund(accountId: string, chargeId: string, options: RefundOptions): Promise<void> {
  const idempotencyKey = operatorKey(options, 'refund');
  const { client, replayed } = connectNotingReplays(options);
  const result = await client.refund(accountId, chargeId, {
    operator: options.operator,
    reason: options.reason,
    idempotencyKey,
    ...(options.credits === undefined ? {} : { credits: options.credits }),
  });
  print(options, result, (view) => replayNote(replayed(), idempotencyKey) + formatRefund(accountId, view, idempotencyKey));
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
  const { client, replayed } = connectNotingReplays(options);
  if (options.operator === undefined && options.reason === undefined) {
    await printForAccount(options, client, accountId, await client.getContract(accountId), formatContract);
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
  await printForAccount(options, client, accountId, result, (view, timeZone) => replayNote(replayed(), idempotencyKey) + formatContractChange(accountId, view, idempotencyKey, timeZone));
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
  records?: boolean;
  after?: number;
  limit?: number;
}

/**
 * A job's state; with --watch its progress until it stops (with --json the progress goes to stderr
 * and the final state to stdout); with --records a page of its records' outcomes and charges.
 */
export async function job(jobId: string, options: JobOptions): Promise<void> {
  const client = connect(options);
  if (options.records) {
    const limitFlag = options.limit === undefined ? '' : ` --limit ${options.limit}`;
    const page = await client.jobResults(jobId, { after: options.after ?? 0, ...(options.limit === undefined ? {} : { limit: options.limit }) });
    print(options, page, ({ results, nextAfter }) => formatJobRecords(jobId, results, nextAfter === null ? null : `credits job ${jobId} --records --after ${nextAfter}${limitFlag}`));
    return;
  }
  if (options.after !== undefined || options.limit !== undefined) throw new UsageError('--after and --limit page through --records');
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

export interface TokenCreateOptions extends ApiOptions {
  scope: ApiScope;
  name: string;
}

export async function createToken(options: TokenCreateOptions): Promise<void> {
  print(options, await connect(options).createApiToken({ name: options.name, scope: options.scope }), formatCreatedToken);
}

export async function listTokens(options: ApiOptions): Promise<void> {
  print(options, await connect(options).listApiTokens(), ({ tokens }) => formatTokens(tokens));
}

export async function revokeToken(tokenId: string, options: ApiOptions): Promise<void> {
  print(options, await connect(options).revokeApiToken(tokenId), formatRevokedToken);
}

export interface SessionTokenOptions extends ApiOptions {
  user?: string;
  topUp?: boolean;
  expiresIn?: number;
}

export async function sessionToken(accountId: string, options: SessionTokenOptions): Promise<void> {
  const view = await connect(options).createSessionToken(accountId, {
    ...(options.user === undefined ? {} : { userId: options.user }),
    ...(options.topUp ? { allowTopUp: true } : {}),
    ...(options.expiresIn === undefined ? {} : { expiresInSeconds: options.expiresIn }),
  });
  print(options, view, formatSessionToken);
}
