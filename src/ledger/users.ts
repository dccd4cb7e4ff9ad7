/** An account's users (role, the per-user switch) and its settings for spends by anyone else. */
import type { z } from 'zod';
import type { UnknownUsersPolicy } from '../contract/fields.js';
import { LIMITS } from '../contract/limits.js';
import type { Micros } from '../money.js';
import { accountRefInput, accountSettingsInput, parseInput, setUserInput } from './inputs.js';
import { lockAccount, readAccount, upsertUser, type AccountRow } from './internals.js';
import type { LedgerScope } from './scope.js';

export type SetUserInput = z.input<typeof setUserInput>;
export type AccountSettingsInput = z.input<typeof accountSettingsInput>;

export interface AccountSettings {
  accountId: string;
  unknownUsers: UnknownUsersPolicy;
  /** balance.low fires at or below this; null: 10 % of the period's allowance. */
  lowBalanceMicros: Micros | null;
}

export interface AccountUsers {
  accountId: string;
  unknownUsers: UnknownUsersPolicy;
  users: { userId: string; role: 'admin' | 'member'; creditsAllowed: boolean; updatedAt: string }[];
}

export async function setUser(scope: LedgerScope, raw: SetUserInput): Promise<{ accountId: string; userId: string; role: string; creditsAllowed: boolean }> {
  const input = parseInput(setUserInput, raw);
  return scope.transaction(async (client) => {
    await lockAccount(client, input.accountId);
    await upsertUser(client, input.accountId, input.userId, input.role, input.creditsAllowed, input.now);
    return { accountId: input.accountId, userId: input.userId, role: input.role, creditsAllowed: input.creditsAllowed };
  });
}

/**
 * Account settings: whether a spend by a user the account has not registered is refused or
 * registers them, and the balance.low threshold. Fields left out keep their value.
 */
export async function updateSettings(scope: LedgerScope, raw: AccountSettingsInput): Promise<AccountSettings> {
  const input = parseInput(accountSettingsInput, raw);
  return scope.transaction(async (client) => {
    await lockAccount(client, input.accountId);
    const { rows } = await client.query<AccountRow>(
      `UPDATE accounts SET unknown_users = coalesce($2, unknown_users),
              low_balance_micros = CASE WHEN $3::boolean THEN $4::bigint ELSE low_balance_micros END
        WHERE account_id = $1 RETURNING *`,
      [input.accountId, input.unknownUsers ?? null, input.lowBalanceMicros !== undefined, input.lowBalanceMicros ?? null],
    );
    const account = rows[0];
    if (!account) throw new Error('invariant: locked account vanished');
    return toSettings(account);
  });
}

export async function getSettings(scope: LedgerScope, raw: { accountId: string }): Promise<AccountSettings> {
  const { accountId } = parseInput(accountRefInput, raw);
  return toSettings(await readAccount(scope.db, accountId));
}

/** The account's users in id order, and what a spend by anyone else does. */
export async function listUsers(scope: LedgerScope, raw: { accountId: string }): Promise<AccountUsers> {
  const { accountId } = parseInput(accountRefInput, raw);
  const account = await readAccount(scope.db, accountId);
  const { rows } = await scope.db.query<{ user_id: string; role: 'admin' | 'member'; credits_allowed: boolean; updated_at: Date }>(
    `SELECT user_id, role, credits_allowed, updated_at FROM account_users WHERE account_id = $1 ORDER BY user_id LIMIT ${LIMITS.maxUsersPerAccount}`,
    [accountId],
  );
  return {
    accountId,
    unknownUsers: account.unknown_users,
    users: rows.map((row) => ({ userId: row.user_id, role: row.role, creditsAllowed: row.credits_allowed, updatedAt: row.updated_at.toISOString() })),
  };
}

function toSettings(account: AccountRow): AccountSettings {
  return { accountId: account.account_id, unknownUsers: account.unknown_users, lowBalanceMicros: account.low_balance_micros };
}
