/**
 * What an operator (customer success, finance) does to an account's credits, each idempotent by
 * key and attributed (operator and reason on the operation): adjustments that add or remove
 * credits, refunds of charges, and contract terms on top of the plan.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Micros } from '../money.js';
import { contractAt, scheduledContract, type ContractTerms } from './contracts.js';
import type { Queryable } from './db.js';
import { accountAtInput, adjustmentInput, contractInput, parseInput, refundInput } from './inputs.js';
import {
  DEFAULT_PRIORITY,
  readAccount,
  requireFeature,
  type Replayable,
} from './internals.js';
import { runGrant, type GrantResult } from './grants.js';
import { callLedger, json } from './refusals.js';
import type { z } from 'zod';
import { hashRequest } from './request-hash.js';

export type AdjustmentInput = z.input<typeof adjustmentInput>;
export type RefundInput = z.input<typeof refundInput>;
export type ContractInput = z.input<typeof contractInput>;

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

export interface ContractResult extends ContractTerms {
  accountId: string;
  /** What applying the terms did, once the account workflow has (a replay answers it too). */
  outcome?: ContractOutcome;
}

export interface ContractOutcome {
  grantedNow: Micros;
  nextAllowance: Micros;
}

export function operatorOperations(catalog: Catalog, pool: Queryable) {
  async function adjust(raw: AdjustmentInput): Promise<Replayable<AdjustmentResult>> {
    const input = parseInput(adjustmentInput, raw);
    if (input.action === 'add') return addCredits(input);
    const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
    // One round trip: never below zero, never what a job holds.
    return callLedger(pool, 'credits_remove_credits', [
      json({ accountId, origin, idempotencyKey, requestHash: hashRequest('adjustment', request), grantId: input.grantId, credits: input.credits, operator, reason, now: now.toISOString() }),
    ]);
  }

  /** One round trip: `credits_grant` writes the promo or adjustment grant, attributed. */
  async function addCredits(input: Extract<z.output<typeof adjustmentInput>, { action: 'add' }>): Promise<Replayable<AdjustmentResult>> {
    for (const featureId of input.features ?? []) requireFeature(catalog, featureId);
    const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
    const granted = await runGrant(pool, {
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
  async function refund(raw: RefundInput): Promise<Replayable<RefundResult>> {
    const input = parseInput(refundInput, raw);
    const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
    return callLedger(pool, 'credits_refund', [
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

  /**
   * Records contract terms from `effectiveFrom` (which the account workflow chooses: now, or its
   * next period's start). A replay of the same request answers the terms first recorded.
   */
  async function setContract(raw: ContractInput): Promise<Replayable<ContractResult>> {
    const input = parseInput(contractInput, raw);
    for (const featureId of input.extraFeatures) requireFeature(catalog, featureId);
    const { idempotencyKey, origin, now, accountId, operator, reason, allowance, extraFeatures, effective } = input;
    return callLedger(pool, 'credits_set_contract', [
      json({
        accountId,
        origin,
        idempotencyKey,
        requestHash: hashRequest('contract', { allowance, extraFeatures, effective }),
        allowance,
        extraFeatures,
        effectiveFrom: input.effectiveFrom.toISOString(),
        operator,
        reason,
        now: now.toISOString(),
      }),
    ]);
  }

  /** Stores what applying contract `contractId` did with its operation's result, for replays to answer. */
  async function completeContract(raw: { accountId: string; contractId: string; outcome: ContractOutcome }): Promise<void> {
    await pool.query(
      `UPDATE operations o SET result = o.result || jsonb_build_object('outcome', $3::jsonb)
         FROM account_contracts c WHERE c.contract_id = $2 AND c.account_id = $1 AND o.operation_id = c.operation_id`,
      [raw.accountId, raw.contractId, JSON.stringify(raw.outcome)],
    );
  }

  /** The contract in force at `now` and the one scheduled after it, if any. */
  async function contract(raw: { accountId: string; now: Date }): Promise<{ accountId: string; inForce: ContractTerms | null; scheduled: ContractTerms | null }> {
    const { accountId, now } = parseInput(accountAtInput, raw);
    await readAccount(pool, accountId);
    return { accountId, inForce: await contractAt(pool, accountId, now), scheduled: await scheduledContract(pool, accountId, now) };
  }

  return { adjust, refund, setContract, completeContract, contract };
}
