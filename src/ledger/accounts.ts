/** An account: opening it, reading it, its plan in force, and the lock every change of it takes. */
import type { z } from 'zod';
import { LedgerError } from './errors.js';
import { accountRefInput, accountsInput, activateAccountInput, createAccountInput, parseInput, setAccountPlanInput } from './inputs.js';
import { authorizeSpend, lockAccount, readAccount, requireFeature, upsertUser, type AccountRow } from './internals.js';
import type { LedgerScope } from './scope.js';

export type CreateAccountInput = z.input<typeof createAccountInput>;
export type SetAccountPlanInput = z.input<typeof setAccountPlanInput>;
export type ActivateAccountInput = z.input<typeof activateAccountInput>;

export interface AccountView {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  status: AccountRow['status'];
  createdAt: string;
}

export interface AccountResult extends AccountView {
  created: boolean;
}

/** An account row locked by `lockAccountFor` in the caller's transaction. */
export type LockedAccount = AccountRow;

function requirePlan({ catalog }: LedgerScope, planId: string): void {
  if (!catalog.plan(planId)) throw new LedgerError('UNKNOWN_PLAN', `plan "${planId}" is not in the catalog`, { planId });
}

/** Opens the account with its users; opening it again with the same settings answers it unchanged. */
export async function createAccount(scope: LedgerScope, raw: CreateAccountInput): Promise<AccountResult> {
  const input = parseInput(createAccountInput, raw);
  requirePlan(scope, input.planId);
  return scope.transaction(async (client) => {
    const inserted = await client.query<AccountRow>(
      `INSERT INTO accounts (account_id, plan_id, seats, time_zone, unknown_users, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id) DO NOTHING RETURNING *`,
      [input.accountId, input.planId, input.seats, input.timeZone, input.unknownUsers, input.now],
    );
    const account = inserted.rows[0];
    if (!account) {
      const existing = await readAccount(client, input.accountId);
      if (existing.plan_id !== input.planId || existing.seats !== input.seats || existing.time_zone !== input.timeZone) {
        throw new LedgerError('ACCOUNT_EXISTS', `account "${input.accountId}" already exists with other settings`, { accountId: input.accountId });
      }
      return toAccountResult(existing, false);
    }
    for (const user of input.users) {
      await upsertUser(client, input.accountId, user.userId, user.role, user.creditsAllowed, input.now);
    }
    return toAccountResult(account, true);
  });
}

/**
 * Opens the account on its plan, or puts an account that exists already (opened by the API, or a
 * cancelled one subscribing again) on this plan and seats, active; its time zone stays. One
 * statement, which takes the account's row lock either way. `created`: the account is new.
 */
export async function activateAccount(scope: LedgerScope, raw: ActivateAccountInput): Promise<{ created: boolean }> {
  const input = parseInput(activateAccountInput, raw);
  requirePlan(scope, input.planId);
  const { rows } = await scope.db.query<{ created: boolean }>({
    name: 'credits_activate_account',
    text: `INSERT INTO accounts (account_id, plan_id, seats, time_zone, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, seats = EXCLUDED.seats, status = 'active'
           RETURNING (xmax = 0) AS created`,
    values: [input.accountId, input.planId, input.seats, input.timeZone, input.now],
  });
  const row = rows[0];
  if (!row) throw new Error('invariant: activating an account answered no row');
  return { created: row.created };
}

/**
 * Takes the account's lock for the caller's transaction (use `within(client)`), so that what the
 * caller writes next about the account (a job, its records) is ordered with the account's spends.
 */
export async function lockAccountFor(scope: LedgerScope, raw: { accountId: string }): Promise<LockedAccount> {
  const { accountId } = parseInput(accountRefInput, raw);
  return lockAccount(scope.db, accountId);
}

/**
 * Gating, known users and the per-user switch for a spend that is about to be reserved (a job):
 * refuses as a charge would, and registers an unknown user when the account says so.
 */
export async function authorizeSpender(scope: LedgerScope, input: { account: LockedAccount; featureId: string; userId: string; now: Date }): Promise<void> {
  const feature = requireFeature(scope.catalog, input.featureId);
  await authorizeSpend(scope.db, scope.catalog, input.account, feature, input.userId, input.now, { register: true });
}

/** The account's plan, seats, time zone and status, without reading its grants. */
export async function getAccount(scope: LedgerScope, raw: { accountId: string }): Promise<AccountView> {
  const { accountId } = parseInput(accountRefInput, raw);
  return toAccountView(await readAccount(scope.db, accountId));
}

/** `text` matched literally by LIKE: its wildcards and the escape character escaped. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (character) => `\\${character}`);

/** Accounts whose id starts with `prefix`, in id order, a page at a time: how an operator finds one. */
export async function listAccounts(scope: LedgerScope, raw: z.input<typeof accountsInput>): Promise<AccountView[]> {
  const input = parseInput(accountsInput, raw);
  const { rows } = await scope.db.query<AccountRow>(
    `SELECT * FROM accounts
      WHERE account_id LIKE $1 AND ($2::text IS NULL OR account_id > $2)
      ORDER BY account_id LIMIT $3`,
    [`${likeLiteral(input.prefix)}%`, input.afterAccountId ?? null, input.limit],
  );
  return rows.map(toAccountView);
}

/** Plan, seats and status in force for gating; the account workflow decides when they change. */
export async function setAccountPlan(scope: LedgerScope, raw: SetAccountPlanInput): Promise<AccountResult> {
  const input = parseInput(setAccountPlanInput, raw);
  requirePlan(scope, input.planId);
  return scope.transaction(async (client) => {
    await lockAccount(client, input.accountId);
    const { rows } = await client.query<AccountRow>('UPDATE accounts SET plan_id = $2, seats = $3, status = $4 WHERE account_id = $1 RETURNING *', [
      input.accountId,
      input.planId,
      input.seats,
      input.status,
    ]);
    const account = rows[0];
    if (!account) throw new Error('invariant: locked account vanished');
    return toAccountResult(account, false);
  });
}

function toAccountView(account: AccountRow): AccountView {
  return {
    accountId: account.account_id,
    planId: account.plan_id,
    seats: account.seats,
    timeZone: account.time_zone,
    status: account.status,
    createdAt: account.created_at.toISOString(),
  };
}

function toAccountResult(account: AccountRow, created: boolean): AccountResult {
  return { ...toAccountView(account), created };
}
