/**
 * What an operator (customer success, finance) does to an account's credits, each idempotent by
 * key and attributed (operator and reason on the operation): adjustments that add or remove
 * credits, refunds of charges, and contract terms on top of the plan.
 */
import type { Catalog } from '../catalog/catalog.js';
import { formatCredits, microsToCredits, type Micros } from '../money.js';
import { contractAt, scheduledContract, type ContractTerms } from './contracts.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import { accountAtInput, adjustmentInput, contractInput, parseInput, refundInput } from './inputs.js';
import {
  appendEntries,
  balanceAt,
  DEFAULT_PRIORITY,
  hashRequest,
  lockAccount,
  readAccount,
  requireFeature,
  runOnce,
  type Replayable,
} from './internals.js';
import { runGrant, type GrantResult } from './grants.js';
import type { z } from 'zod';

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

type Transaction = <T>(work: (client: Queryable) => Promise<T>) => Promise<T>;

interface ChargedSlice {
  grant_id: string;
  charged: Micros;
  valid: boolean;
}

/**
 * Refunds walk a charge's entries latest first (the longest-lived grants it drew on), and each
 * refund takes up where the earlier ones stopped: the first `skip` credits are already refunded.
 */
export function refundSlices(charged: readonly ChargedSlice[], skip: Micros, credits: Micros): RefundSlice[] {
  const slices: RefundSlice[] = [];
  let toSkip = skip;
  let left = credits;
  for (const entry of charged) {
    if (left === 0) break;
    const skipped = Math.min(toSkip, entry.charged);
    toSkip -= skipped;
    const take = Math.min(entry.charged - skipped, left);
    if (take > 0) {
      slices.push({ grantId: entry.grant_id, credits: take, returned: entry.valid });
      left -= take;
    }
  }
  if (left !== 0) throw new Error(`invariant: refund of ${credits} found only ${credits - left} charged credits after ${skip}`);
  return slices;
}

export function operatorOperations(catalog: Catalog, pool: Queryable, transaction: Transaction) {
  async function adjust(raw: AdjustmentInput): Promise<Replayable<AdjustmentResult>> {
    const input = parseInput(adjustmentInput, raw);
    if (input.action === 'add') return addCredits(input);
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
      const spec = { accountId, kind: 'adjustment' as const, idempotencyKey, origin, request, now, attribution: { operator, reason } };
      return runOnce(client, spec, async (operationId) => {
        const grant = await removeCredits(client, input, operationId);
        const result: AdjustmentResult = {
          adjustmentId: operationId,
          action: input.action,
          credits: input.credits,
          grant,
          balance: { available: (await balanceAt(client, accountId, now)).available },
        };
        return { result, credits: input.credits };
      });
    });
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

  /** Removes unheld credits from a grant in force: never below zero, never what a job holds. */
  async function removeCredits(client: Queryable, input: Extract<z.output<typeof adjustmentInput>, { action: 'remove' }>, operationId: string): Promise<AdjustmentResult['grant']> {
    const { rows } = await client.query<{
      source: GrantResult['source'];
      amount: Micros;
      remaining: Micros;
      held: Micros;
      in_force: boolean;
      effective_at: Date;
      expires_at: Date | null;
    }>(
      `SELECT source, amount, remaining, held, effective_at, expires_at,
              (expired_at IS NULL AND effective_at <= $3 AND (expires_at IS NULL OR expires_at > $3)) AS in_force
         FROM grants WHERE grant_id = $1 AND account_id = $2`,
      [input.grantId, input.accountId, input.now],
    );
    const grant = rows[0];
    if (!grant) throw new LedgerError('UNKNOWN_GRANT', `grant ${input.grantId} does not exist on account "${input.accountId}"`, { grantId: input.grantId });
    const removable = grant.in_force ? grant.remaining - grant.held : 0;
    if (input.credits > removable) {
      throw new LedgerError(
        'REMOVAL_EXCEEDS_GRANT',
        `grant ${input.grantId} has ${formatCredits(removable)} credits that can be removed (${grant.in_force ? `${formatCredits(grant.held)} are held` : 'it is not in force'}), not ${formatCredits(input.credits)}`,
        { grantId: input.grantId, removable: microsToCredits(removable), held: microsToCredits(grant.held) },
      );
    }
    await appendEntries(client, input.accountId, operationId, input.now, [{ grantId: input.grantId, kind: 'adjust', amount: -input.credits, heldChange: 0 }]);
    return {
      grantId: input.grantId,
      source: grant.source,
      credits: grant.amount,
      remaining: grant.remaining - input.credits,
      effectiveAt: grant.effective_at.toISOString(),
      expiresAt: grant.expires_at?.toISOString() ?? null,
    };
  }

  async function refund(raw: RefundInput): Promise<Replayable<RefundResult>> {
    const input = parseInput(refundInput, raw);
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      const { rows } = await client.query<{ credits: Micros; user_id: string | null; feature: string | null; job_id: string | null }>(
        `SELECT credits, user_id, feature, job_id FROM operations WHERE operation_id = $1 AND account_id = $2 AND kind IN ('charge', 'hold_charge')`,
        [input.chargeId, input.accountId],
      );
      const charge = rows[0];
      if (!charge) throw new LedgerError('UNKNOWN_CHARGE', `charge ${input.chargeId} does not exist on account "${input.accountId}"`, { chargeId: input.chargeId });
      const { idempotencyKey, origin, now, accountId, operator, reason, ...request } = input;
      const spec = {
        accountId,
        kind: 'refund' as const,
        idempotencyKey,
        origin,
        request,
        now,
        attribution: { operator, reason },
        refundOf: input.chargeId,
        userId: charge.user_id ?? undefined,
        feature: charge.feature ?? undefined,
        jobId: charge.job_id,
      };
      return runOnce(client, spec, async (operationId) => {
        const refunded = await refundedSoFar(client, input.chargeId);
        const refundable = charge.credits - refunded;
        const credits = input.credits ?? refundable;
        if (credits === 0 || credits > refundable) {
          throw new LedgerError(
            'REFUND_EXCEEDS_CHARGE',
            `charge ${input.chargeId} was ${formatCredits(charge.credits)} credits and ${formatCredits(refunded)} are refunded already: at most ${formatCredits(refundable)} more can be`,
            { chargeId: input.chargeId, charged: microsToCredits(charge.credits), refunded: microsToCredits(refunded), refundable: microsToCredits(refundable) },
          );
        }
        const charged = await client.query<ChargedSlice>(
          `SELECT e.grant_id::text, -e.amount AS charged,
                  (g.expired_at IS NULL AND g.effective_at <= $2 AND (g.expires_at IS NULL OR g.expires_at > $2)) AS valid
             FROM ledger_entries e JOIN grants g USING (grant_id)
            WHERE e.operation_id = $1 AND e.kind = 'charge' ORDER BY e.entry_id DESC`,
          [input.chargeId, now],
        );
        const slices = refundSlices(charged.rows, refunded, credits);
        const returnedSlices = slices.filter((slice) => slice.returned);
        await appendEntries(client, accountId, operationId, now, returnedSlices.map((slice) => ({ grantId: slice.grantId, kind: 'refund', amount: slice.credits, heldChange: 0 })));
        const returned = returnedSlices.reduce((sum, slice) => sum + slice.credits, 0);
        const result: RefundResult = {
          refundId: operationId,
          chargeId: input.chargeId,
          credits,
          returned,
          expired: credits - returned,
          grants: slices,
          charge: { credits: charge.credits, refunded: refunded + credits, refundable: refundable - credits },
          balance: { available: (await balanceAt(client, accountId, now)).available },
        };
        return { result, credits };
      });
    });
  }

  /** Credits the refunds of a charge covered so far; the one in progress has 0 until it completes. */
  async function refundedSoFar(client: Queryable, chargeId: string): Promise<Micros> {
    const { rows } = await client.query<{ refunded: Micros }>(
      `SELECT coalesce(sum(credits), 0)::bigint AS refunded FROM operations WHERE refund_of = $1 AND kind = 'refund'`,
      [chargeId],
    );
    return rows[0]?.refunded ?? 0;
  }

  /**
   * Records contract terms from `effectiveFrom` (which the account workflow chooses: now, or its
   * next period's start). A replay of the same request answers the terms first recorded.
   */
  async function setContract(raw: ContractInput): Promise<Replayable<ContractResult>> {
    const input = parseInput(contractInput, raw);
    for (const featureId of input.extraFeatures) requireFeature(catalog, featureId);
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      const { idempotencyKey, origin, now, accountId, operator, reason, allowance, extraFeatures, effective } = input;
      const spec = { accountId, kind: 'contract' as const, idempotencyKey, origin, request: { allowance, extraFeatures, effective }, now, attribution: { operator, reason } };
      return runOnce(client, spec, async (operationId) => {
        const { rows } = await client.query<{ contract_id: string }>(
          `INSERT INTO account_contracts (account_id, operation_id, allowance_micros, allowance_per_seat, extra_features, effective_from, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING contract_id::text`,
          [accountId, operationId, allowance?.credits ?? null, allowance?.perSeat ?? false, extraFeatures, input.effectiveFrom, now],
        );
        const contractId = rows[0]?.contract_id;
        if (contractId === undefined) throw new Error('invariant: contract insert returned no id');
        const result: ContractResult = { accountId, contractId, allowance, extraFeatures, effectiveFrom: input.effectiveFrom.toISOString(), operator, reason };
        return { result };
      });
    });
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
