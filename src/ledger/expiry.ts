/** Grants leaving the balance: past their expiry, all of an account's due at once, or withdrawn before they start. */
import type { z } from 'zod';
import type { GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import { accountAtInput, expireGrantInput, parseInput } from './inputs.js';
import { callLedger } from './refusals.js';
import type { LedgerScope } from './scope.js';

export type ExpireGrantInput = z.input<typeof expireGrantInput>;

export interface ExpireResult {
  grantId: string;
  source: GrantSource;
  expired: Micros;
  alreadyExpired: boolean;
  /** The grant's validity: for an allowance, its period. */
  effectiveAt: string;
  expiresAt: string | null;
}

/** `credits_expire` in one of its modes, for one grant or every grant due. */
function expire(scope: LedgerScope, accountId: string, grantId: string | null, now: Date, mode: 'expire' | 'revoke' | 'due'): Promise<ExpireResult[]> {
  return callLedger(scope.db, 'credits_expire', [
    { value: accountId, type: 'text' },
    { value: grantId, type: 'bigint' },
    { value: now, type: 'timestamptz' },
    { value: mode, type: 'text' },
  ]);
}

function only([result]: ExpireResult[]): ExpireResult {
  if (!result) throw new Error('invariant: an expiry of one grant answered none');
  return result;
}

/** Ends a grant that is past its expiry: what is left, held or not, leaves the balance. */
export async function expireGrant(scope: LedgerScope, raw: ExpireGrantInput): Promise<ExpireResult> {
  const input = parseInput(expireGrantInput, raw);
  return only(await expire(scope, input.accountId, input.grantId, input.now, 'expire'));
}

/**
 * Withdraws a grant that has not taken effect yet (an allowance written ahead for a period that a
 * downgrade or cancellation changed). Nothing can have been spent from it. Revoking twice is a no-op.
 */
export async function revokePendingGrant(scope: LedgerScope, raw: ExpireGrantInput): Promise<ExpireResult> {
  const input = parseInput(expireGrantInput, raw);
  return only(await expire(scope, input.accountId, input.grantId, input.now, 'revoke'));
}

/** Expires every grant of the account whose expiry has passed; running it again does nothing. */
export async function expireDue(scope: LedgerScope, raw: { accountId: string; now: Date }): Promise<ExpireResult[]> {
  const input = parseInput(accountAtInput, raw);
  return expire(scope, input.accountId, null, input.now, 'due');
}
