import type { Catalog, Feature } from '../catalog/catalog.js';
import type { GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import { fromDatabase } from './refusals.js';
import type { UnknownUsersPolicy } from '../contract/fields.js';

/** Spending priority by source when a grant does not set its own: lower is spent first. */
export const DEFAULT_PRIORITY: Readonly<Record<GrantSource, number>> = {
  allowance: 10,
  trial: 10,
  promo: 20,
  adjustment: 30,
  purchase: 100,
};

export interface AccountRow {
  account_id: string;
  plan_id: string;
  seats: number;
  time_zone: string;
  status: 'active' | 'cancelling' | 'cancelled';
  unknown_users: UnknownUsersPolicy;
  /** balance.low fires at or below this; null: 10 % of the period's allowance (credits_balance_alerts, in SQL). */
  low_balance_micros: Micros | null;
  created_at: Date;
}

/**
 * Every mutation of an account starts here: the account row lock serializes an account's balance
 * changes, which is what makes check-then-spend safe and keeps grant locks deadlock-free.
 */
export async function lockAccount(client: Queryable, accountId: string): Promise<AccountRow> {
  const { rows } = await client.query<AccountRow>('SELECT * FROM accounts WHERE account_id = $1 FOR NO KEY UPDATE', [accountId]);
  const account = rows[0];
  if (!account) throw new LedgerError('UNKNOWN_ACCOUNT', `account "${accountId}" does not exist`, { accountId });
  return account;
}

export async function readAccount(client: Queryable, accountId: string): Promise<AccountRow> {
  const { rows } = await client.query<AccountRow>('SELECT * FROM accounts WHERE account_id = $1', [accountId]);
  const account = rows[0];
  if (!account) throw new LedgerError('UNKNOWN_ACCOUNT', `account "${accountId}" does not exist`, { accountId });
  return account;
}

export type Replayable<R> = R & { replayed: boolean };

/**
 * Gating, known users and the per-user switch for a spend, a reservation or an estimate, in one
 * call to `credits_authorize_spend` (the rule's home, in SQL): the feature is in the account's plan
 * or its contract in force at `at`; then, given a user, the user is registered (or is registered
 * now, when the account registers unknown users and `register` is set) and allowed to spend.
 */
export async function authorizeSpend(
  client: Queryable,
  catalog: Catalog,
  account: AccountRow,
  feature: Feature,
  userId: string | null,
  at: Date,
  options: { register: boolean },
): Promise<void> {
  if (!catalog.plan(account.plan_id)) throw new LedgerError('UNKNOWN_PLAN', `plan "${account.plan_id}" is not in the catalog`, { planId: account.plan_id });
  try {
    await client.query('SELECT credits_authorize_spend(a, $2, $3, $4, $5, $6) FROM accounts a WHERE a.account_id = $1', [
      account.account_id,
      feature.id,
      catalog.plansWith(feature),
      userId,
      at,
      options.register,
    ]);
  } catch (error) {
    throw fromDatabase(error);
  }
}

export function requireFeature(catalog: Catalog, featureId: string): Feature {
  const feature = catalog.feature(featureId);
  if (!feature) throw new LedgerError('UNKNOWN_FEATURE', `feature "${featureId}" is not in the catalog`, { feature: featureId });
  return feature;
}

export function requireUnitPrice(catalog: Catalog, feature: Feature, variant: string | undefined): Micros {
  const price = catalog.unitPrice(feature, variant);
  if (price === undefined) {
    throw new LedgerError('VALIDATION_FAILED', `feature "${feature.id}" has no price variant "${String(variant)}"`, {
      issues: [{ path: 'variant', message: `must be one of: ${Object.keys(feature.variants).join(', ') || '(none)'}` }],
    });
  }
  return price;
}

export type { EntryKind } from '../contract/fields.js';

export async function upsertUser(client: Queryable, accountId: string, userId: string, role: string, creditsAllowed: boolean, now: Date): Promise<void> {
  await client.query(
    `INSERT INTO account_users (account_id, user_id, role, credits_allowed, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (account_id, user_id) DO UPDATE SET role = EXCLUDED.role, credits_allowed = EXCLUDED.credits_allowed, updated_at = EXCLUDED.updated_at`,
    [accountId, userId, role, creditsAllowed, now],
  );
}
