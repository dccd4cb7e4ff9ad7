/**
 * Balance alerts, once per crossing: `balance.low` when a spend takes the available balance from
 * above the account's threshold to at or below it, `balance.depleted` when it takes it to zero.
 * Spends of one account run under its row lock, one after another, so each sees the balance the
 * previous one left: fifty concurrent charges cross a threshold once. A top-up or a new period that
 * lifts the balance above the threshold arms it again.
 */
import { appendEvent } from '../events/outbox.js';
import type { Micros } from '../money.js';
import type { Queryable } from './db.js';
import type { AccountRow, BalanceAt } from './internals.js';

/** Without a threshold of its own, an account is low at 10 % of its period's allowance. */
export const DEFAULT_LOW_BALANCE_PERCENT = 10;

export function lowBalanceThreshold(account: Pick<AccountRow, 'low_balance_micros'>, periodAllowance: Micros): Micros {
  return account.low_balance_micros ?? Math.floor((periodAllowance * DEFAULT_LOW_BALANCE_PERCENT) / 100);
}

/** Appends the alerts a spend of `spent` credits (by operation `operationId`) crossed into. */
export async function appendBalanceCrossings(client: Queryable, account: AccountRow, after: BalanceAt, spent: Micros, operationId: string, now: Date): Promise<void> {
  if (spent <= 0) return;
  const before = after.available + spent;
  const threshold = lowBalanceThreshold(account, after.periodAllowance);
  const payload = { available: after.available, threshold, operationId };
  if (threshold > 0 && before > threshold && after.available <= threshold) {
    await appendEvent(client, { type: 'balance.low', accountId: account.account_id, payload }, now);
  }
  if (after.available === 0) {
    await appendEvent(client, { type: 'balance.depleted', accountId: account.account_id, payload }, now);
  }
}
