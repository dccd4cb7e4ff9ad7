/**
 * Contract terms: what one account agreed on top of its plan. The terms in force at an instant are
 * the latest contract whose `effective_from` is at or before it (SQL `contract_in_force` states it);
 * before any contract, the plan alone. A contract replaces the plan's
 * unrestricted allowance with its own (fixed, or per seat) when it names one, keeps the plan's
 * feature-restricted allowances, and adds its extra features to what the plan gates (the gating
 * itself is `credits_authorize_spend`, in SQL, with the same rule for the contract in force).
 */
import type { z } from 'zod';
import { multiplyMicros, type Micros } from '../money.js';
import type { Queryable } from './db.js';
import { accountAtInput, contractInput, parseInput } from './inputs.js';
import { readAccount, requireFeature, type Replayable } from './internals.js';
import { callLedger, json } from './refusals.js';
import { hashRequest } from './request-hash.js';
import type { LedgerScope } from './scope.js';

export type ContractInput = z.input<typeof contractInput>;

export interface ContractTerms {
  contractId: string;
  /** Null: the plan's allowance applies. */
  allowance: { credits: Micros; perSeat: boolean } | null;
  extraFeatures: string[];
  effectiveFrom: string;
  operator: string;
  reason: string;
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

export interface Allowance {
  amount: Micros;
  features: string[] | null;
}

interface ContractRow {
  contract_id: string;
  allowance_micros: Micros | null;
  allowance_per_seat: boolean;
  extra_features: string[];
  effective_from: Date;
  operator: string;
  reason: string;
}

const CONTRACT_COLUMNS = 'c.contract_id::text, c.allowance_micros, c.allowance_per_seat, c.extra_features, c.effective_from, o.operator, o.reason';

function toTerms(row: ContractRow): ContractTerms {
  return {
    contractId: row.contract_id,
    allowance: row.allowance_micros === null ? null : { credits: row.allowance_micros, perSeat: row.allowance_per_seat },
    extraFeatures: row.extra_features,
    effectiveFrom: row.effective_from.toISOString(),
    operator: row.operator,
    reason: row.reason,
  };
}

/** The contract in force at `at`, or null when the plan alone applies. */
export async function contractAt(client: Queryable, accountId: string, at: Date): Promise<ContractTerms | null> {
  const { rows } = await client.query<ContractRow>({
    name: 'credits_contract_at',
    text: 'SELECT * FROM credits_contract_terms($1, $2)',
    values: [accountId, at],
  });
  return rows[0] ? toTerms(rows[0]) : null;
}

/** The contract that takes effect after `at` (the next period's), if one is scheduled. */
export async function scheduledContract(client: Queryable, accountId: string, at: Date): Promise<ContractTerms | null> {
  const { rows } = await client.query<ContractRow>(
    `SELECT ${CONTRACT_COLUMNS} FROM account_contracts c JOIN operations o USING (operation_id)
      WHERE c.account_id = $1 AND c.effective_from > $2
      ORDER BY c.effective_from DESC, c.contract_id DESC LIMIT 1`,
    [accountId, at],
  );
  return rows[0] ? toTerms(rows[0]) : null;
}

/** A plan's allowances for `seats` seats under `contract`. */
export function contractAllowances(planAllowances: readonly Allowance[], contract: ContractTerms | null, seats: number): Allowance[] {
  if (!contract?.allowance) return planAllowances.map((allowance) => ({ ...allowance }));
  const own = contract.allowance.perSeat ? multiplyMicros(contract.allowance.credits, seats) : contract.allowance.credits;
  return [{ amount: own, features: null }, ...planAllowances.filter((allowance) => allowance.features !== null).map((allowance) => ({ ...allowance }))];
}

/**
 * Records contract terms from `effectiveFrom` (which the account workflow chooses: now, or its
 * next period's start). A replay of the same request answers the terms first recorded.
 */
export async function setContract(scope: LedgerScope, raw: ContractInput): Promise<Replayable<ContractResult>> {
  const input = parseInput(contractInput, raw);
  for (const featureId of input.extraFeatures) requireFeature(scope.catalog, featureId);
  const { idempotencyKey, origin, now, accountId, operator, reason, allowance, extraFeatures, effective } = input;
  return callLedger(scope.db, 'credits_set_contract', [
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
export async function completeContract(scope: LedgerScope, raw: { accountId: string; contractId: string; outcome: ContractOutcome }): Promise<void> {
  await scope.db.query(
    `UPDATE operations o SET result = o.result || jsonb_build_object('outcome', $3::jsonb)
       FROM account_contracts c WHERE c.contract_id = $2 AND c.account_id = $1 AND o.operation_id = c.operation_id`,
    [raw.accountId, raw.contractId, JSON.stringify(raw.outcome)],
  );
}

/** The contract in force at `now` and the one scheduled after it, if any. */
export async function contract(scope: LedgerScope, raw: { accountId: string; now: Date }): Promise<{ accountId: string; inForce: ContractTerms | null; scheduled: ContractTerms | null }> {
  const { accountId, now } = parseInput(accountAtInput, raw);
  await readAccount(scope.db, accountId);
  return { accountId, inForce: await contractAt(scope.db, accountId, now), scheduled: await scheduledContract(scope.db, accountId, now) };
}
