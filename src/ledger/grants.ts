/**
 * Granting credits is one call to `credits_grant` (migration 1730000000008): an allowance, trial or
 * promo, an admin's purchase, or an operator's adjustment. Node validates; SQL applies the account's
 * lock, the idempotency key, the admin rule for purchases and the one trial per account.
 */
import type { GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import type { Queryable } from './db.js';
import type { Replayable } from './internals.js';
import { callLedger, json } from './refusals.js';

export interface GrantResult {
  grantId: string;
  source: GrantSource;
  credits: Micros;
  effectiveAt: string;
  expiresAt: string | null;
}

/** What `credits_grant` reads of one grant. */
export interface GrantItem {
  kind: 'grant' | 'top_up' | 'adjustment';
  accountId: string;
  origin: string;
  idempotencyKey: string;
  requestHash: string;
  source: GrantSource;
  credits: Micros;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  features: string[] | null;
  /** The admin buying (a top-up). */
  userId?: string;
  /** Who adjusts and why (an adjustment). */
  operator?: string;
  reason?: string;
  now: string;
}

/** A grant's result; a purchase's and an adjustment's also carry the balance after them (and an adjustment its operation). */
export type GrantOutcomeResult = GrantResult & { balance?: { available: Micros }; operationId?: string };

/** Grants in one round trip; the result, or the refusal as a LedgerError. */
export function runGrant(client: Queryable, item: GrantItem): Promise<Replayable<GrantOutcomeResult>> {
  return callLedger(client, 'credits_grant', [json(item)]);
}
