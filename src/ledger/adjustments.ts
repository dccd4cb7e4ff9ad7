/**
 * What an operator (customer success, finance) does to an account's credits, each idempotent by
 * key and attributed (operator and reason on the operation): adjustments that add or remove
 * credits, and refunds of charges.
 */
import type { z } from 'zod';
import type { Micros } from '../money.js';
import { runGrant, type GrantResult } from './grants.js';
import { adjustmentInput, parseInput, refundInput } from './inputs.js';
import { DEFAULT_PRIORITY, requireFeature, type Replayable } from './internals.js';
import { callLedger, json } from './refusals.js';
import { hashRequest } from './request-hash.js';
import type { LedgerScope } from './scope.js';

export type AdjustmentInput = z.input<typeof adjustmentInput>;
export type RefundInput = z.input<typeof refundInput>;


export interface AdjustmentResult {
  adjustmentId: string;
  action: 'add' | 'remove';
  credits: Micros;
  /** The grant added, or the one credits were removed from with what it has left. */
  grant: GrantResult & { remaining: Micros };
  balance: { available: Micros };
}

export interface RefundSlice {
  grantId: string;
  credits: Micros;
  /** False when the grant has expired since the charge: these credits are reported, not put back. */
  returned: boolean;
}

export interface RefundResult {
  refundId: string;
  chargeId: string;
  /** Credits of the charge this refund covers: `returned` plus `expired`. */
  credits: Micros;
  returned: Micros;
  expired: Micros;
  grants: RefundSlice[];
  /** The charge's total, what all its refunds covered so far (this one included), and what is left. */
  charge: { credits: Micros; refunded: Micros; refundable: Micros };
  balance: { available: Micros };
}

export async function adjust(scope: LedgerScope, raw: AdjustmentInput): Promise<Replayable<AdjustmentResult>> {
  const input = parseInput(adjustmentInput, raw);
  if (input.action === 'add') return addCredits(scope, input);
  const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
  // One round trip: never below zero, never what a job holds.
  return callLedger(scope.db, 'credits_remove_credits', [
    json({ accountId, origin, idempotencyKey, requestHash: hashRequest('adjustment', request), grantId: input.grantId, credits: input.credits, operator, reason, now: now.toISOString() }),
  ]);
}

/** One round trip: `credits_grant` writes the promo or adjustment grant, attributed. */
async function addCredits(scope: LedgerScope, input: Extract<z.output<typeof adjustmentInput>, { action: 'add' }>): Promise<Replayable<AdjustmentResult>> {
  for (const featureId of input.features ?? []) requireFeature(scope.catalog, featureId);
  const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
  const granted = await runGrant(scope.db, {
    kind: 'adjustment',
    accountId,
    origin,
    idempotencyKey,
    requestHash: hashRequest('adjustment', request),
    source: input.source,
    credits: input.credits,
    priority: DEFAULT_PRIORITY[input.source],
    effectiveAt: now.toISOString(),
    expiresAt: input.expiresAt?.toISOString() ?? null,
    features: input.features ?? null,
    operator,
    reason,
    now: now.toISOString(),
  });
  const { balance, operationId, replayed, ...grant } = granted;
  if (!balance || operationId === undefined) throw new Error('invariant: an adjustment answered no balance or operation');
  return { adjustmentId: operationId, action: 'add', credits: input.credits, grant: { ...grant, remaining: input.credits }, balance, replayed };
}

/** One round trip: `credits_refund` puts credits back into the grants the charge drew on that are still in force. */
export async function refund(scope: LedgerScope, raw: RefundInput): Promise<Replayable<RefundResult>> {
  const input = parseInput(refundInput, raw);
  const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
  return callLedger(scope.db, 'credits_refund', [
    json({
      accountId,
      origin,
      idempotencyKey,
      requestHash: hashRequest('refund', request),
      chargeId: input.chargeId,
      credits: input.credits ?? null,
      operator,
      reason,
      now: now.toISOString(),
    }),
  ]);
}
