/**
 * Contract terms: what one account agreed on top of its plan. The terms in force at an instant are
 * the latest contract whose `effective_from` is at or before it (SQL `contract_in_force` states it);
 * before any contract, the plan alone. A contract replaces the plan's
 * unrestricted allowance with its own (fixed, or per seat) when it names one, keeps the plan's
 * feature-restricted allowances, and adds its extra features to what the plan gates (the gating
 * itself is `credits_authorize_spend`, in SQL, with the same rule for the contract in force).
 */
import { multiplyMicros, type Micros } from '../money.js';
import type { Queryable } from './db.js';

export interface ContractTerms {
  contractId: string;
  /** Null: the plan's allowance applies. */
  allowance: { credits: Micros; perSeat: boolean } | null;
  extraFeatures: string[];
  effectiveFrom: string;
  operator: string;
  reason: string;
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
  const { rows } = await client.query<ContractRow>(`SELECT ${CONTRACT_COLUMNS} FROM contract_in_force($1, $2) c JOIN operations o USING (operation_id)`, [accountId, at]);
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
