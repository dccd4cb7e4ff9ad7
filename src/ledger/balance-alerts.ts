/**
 * Balance alerts (`balance.low`, `balance.depleted`), once per crossing. The rule lives in SQL
 * (`credits_balance_alerts`, migration 1730000000007), where a charge applies it in the same call;
 * a reservation applies it through here.
 */
import type { Micros } from '../money.js';
import type { Queryable } from './db.js';
import type { AccountRow, BalanceAt } from './internals.js';

/** Appends the alerts a spend of `spent` credits (by operation `operationId`) crossed into. */
export async function appendBalanceCrossings(client: Queryable, account: AccountRow, after: BalanceAt, spent: Micros, operationId: string, now: Date): Promise<void> {
  if (spent <= 0) return;
  await client.query('SELECT credits_balance_alerts(a, $2, $3, $4, $5, $6) FROM accounts a WHERE a.account_id = $1', [
    account.account_id,
    after.available + spent,
    after.available,
    after.periodAllowance,
    operationId,
    now,
  ]);
}
