import type { ChargesParams, GrantsParams, LedgerParams } from '../client/client.js';
import { LIMITS } from '../contract/limits.js';
import { connect, type ApiOptions } from './api.js';
import { printForAccount } from './commands.js';
import { formatCharges, formatEntries, formatGrantList, formatStatement } from './ledger-format.js';

/**
 * The ledger explorer's commands: entries with their causes, charges, every grant, a period's
 * statement. A page at a time (`--after`, `--limit`) or every page (`--all`); `--json` prints what
 * the API answered.
 */

export interface PageOptions extends ApiOptions {
  after?: number;
  limit?: number;
  all?: boolean;
}

export interface CauseFilterOptions {
  feature?: string;
  user?: string;
  job?: string;
  grant?: string;
  from?: string;
  to?: string;
}

const defined = <T extends Record<string, unknown>>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;

const causeFilters = (options: CauseFilterOptions) =>
  defined({ feature: options.feature, userId: options.user, jobId: options.job, grantId: options.grant, from: options.from, to: options.to });

/** The command line that asks for the page after `nextAfter`, for the "more:" line. */
function nextCommand(argv: readonly string[], nextAfter: number): string {
  const args: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--after') index++;
    else args.push(argv[index] ?? '');
  }
  return `credits ${[...args, '--after', String(nextAfter)].join(' ')} (or --all)`;
}

interface Page<T> {
  items: T[];
  nextAfter: number | null;
}

/** One page from --after, or with --all every page from there. */
async function pages<T>(options: PageOptions, read: (after: number, limit: number | undefined) => Promise<Page<T>>): Promise<Page<T>> {
  let after = options.after ?? 0;
  if (!options.all) return read(after, options.limit);
  const items: T[] = [];
  for (;;) {
    const page = await read(after, options.limit ?? LIMITS.maxPageSize);
    items.push(...page.items);
    if (page.nextAfter === null) return { items, nextAfter: null };
    if (page.nextAfter <= after) throw new Error(`the API's cursor did not advance past ${after}`);
    after = page.nextAfter;
  }
}

const pageQuery = (after: number, limit: number | undefined) => ({ after, ...(limit === undefined ? {} : { limit }) });

export interface LedgerOptions extends PageOptions, CauseFilterOptions {
  kind?: NonNullable<LedgerParams['kind']>;
  operation?: string;
}

export async function ledger(accountId: string, options: LedgerOptions, argv: readonly string[]): Promise<void> {
  const client = connect(options);
  const filters = { ...causeFilters(options), ...defined({ kind: options.kind, operationId: options.operation }) };
  const page = await pages(options, async (after, limit) => {
    const { entries, nextAfter } = await client.ledger(accountId, { ...pageQuery(after, limit), ...filters });
    return { items: entries, nextAfter };
  });
  const more = page.nextAfter === null ? null : nextCommand(argv, page.nextAfter);
  await printForAccount(options, client, accountId, { entries: page.items, nextAfter: page.nextAfter }, ({ entries }, timeZone) => formatEntries(entries, more, timeZone));
}

export interface ChargesOptions extends PageOptions, CauseFilterOptions {
  charge?: string;
}

export async function charges(accountId: string, options: ChargesOptions, argv: readonly string[]): Promise<void> {
  const client = connect(options);
  const filters: ChargesParams = { ...causeFilters(options), ...defined({ chargeId: options.charge }) };
  const page = await pages(options, async (after, limit) => {
    const { charges: items, nextAfter } = await client.charges(accountId, { ...pageQuery(after, limit), ...filters });
    return { items, nextAfter };
  });
  const more = page.nextAfter === null ? null : nextCommand(argv, page.nextAfter);
  await printForAccount(options, client, accountId, { charges: page.items, nextAfter: page.nextAfter }, ({ charges: items }, timeZone) => formatCharges(items, more, timeZone));
}

export interface GrantsOptions extends PageOptions {
  status?: NonNullable<GrantsParams['status']>;
  source?: NonNullable<GrantsParams['source']>;
}

export async function grants(accountId: string, options: GrantsOptions, argv: readonly string[]): Promise<void> {
  const client = connect(options);
  const filters = defined({ status: options.status, source: options.source });
  const page = await pages(options, async (after, limit) => {
    const { grants: items, nextAfter } = await client.grants(accountId, { ...pageQuery(after, limit), ...filters });
    return { items, nextAfter };
  });
  const more = page.nextAfter === null ? null : nextCommand(argv, page.nextAfter);
  await printForAccount(options, client, accountId, { grants: page.items, nextAfter: page.nextAfter }, ({ grants: items }, timeZone) => formatGrantList(accountId, items, more, timeZone));
}

export interface StatementOptions extends ApiOptions {
  period?: string;
}

export async function statement(accountId: string, options: StatementOptions): Promise<void> {
  const view = await connect(options).statement(accountId, { period: options.period ?? 'current' });
  process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatStatement(view));
}
