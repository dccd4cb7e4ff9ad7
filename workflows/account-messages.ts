import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Micros } from '../src/money.js';
import type { PeriodView, Schedule } from '../src/periods/periods.js';

export type { PeriodView, Schedule };

export type AccountStatus = 'active' | 'cancelling' | 'cancelled';

export interface AccountWorkflowInput {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  /** ISO instant the account starts; anchors anniversary and every-N-days periods. */
  startAt: string;
  /** Grant the plan's trial credits (once per account, ever). */
  trial: boolean;
  /** Set only by continue-as-new. */
  carried?: CarriedState;
}

export interface PlanView {
  planId: string;
  seats: number;
}

export interface OpenAccountView {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  status: AccountStatus;
  period: PeriodView;
  /** When the next allowance arrives; null once the account is cancelled or cancelling. */
  nextRefresh: string | null;
  /** The plan from the next period on, when a downgrade is scheduled. */
  nextPlan: PlanView | null;
  trialGranted: boolean;
}

/** Answered only until a new account has its ledger account and first allowance. */
export interface OpeningAccountView {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  status: 'opening';
}

export type AccountView = OpenAccountView | OpeningAccountView;

/** The allowance written ahead for the next period, and the plan it was written for. */
export interface NextPeriod {
  schedule: Schedule;
  period: PeriodView;
  plan: PlanView;
  allowanceTotal: Micros;
  grantIds: string[];
  revision: number;
}

export interface CarriedState {
  status: AccountStatus;
  trialGranted: boolean;
  schedule: Schedule;
  period: PeriodView;
  plan: PlanView;
  allowanceTotal: Micros;
  next: NextPeriod | null;
  /** The run starts at a boundary that still has to be processed (expiry, write-ahead). */
  atBoundary: boolean;
  revision: number;
}

export interface ChangePlanInput {
  planId: string;
  seats: number;
}

export interface ChangePlanResult {
  effective: 'now' | 'next_period';
  planId: string;
  seats: number;
  /** Credits granted now for the rest of the current period (upgrades only). */
  grantedNow: Micros;
  effectiveAt: string;
}

export interface CancelResult {
  status: AccountStatus;
  endsAt: string;
}

/** Contract terms an operator sets on an account (amounts in micros); see src/ledger/contracts.ts. */
export interface ContractChangeInput {
  allowance: { credits: Micros; perSeat: boolean } | null;
  extraFeatures: string[];
  /** From now (an allowance increase is granted for the rest of the period, like an upgrade) or from the next period. */
  effective: 'now' | 'next_period';
  operator: string;
  reason: string;
  idempotencyKey: string;
}

export interface ContractChangeResult {
  contractId: string;
  effective: 'now' | 'next_period';
  effectiveAt: string;
  /** Credits granted now for the rest of the current period. */
  grantedNow: Micros;
  /** The allowance of the next period under the new terms. */
  nextAllowance: Micros;
  replayed: boolean;
}

export const accountStateQuery = defineQuery<AccountView>('accountState');
/**
 * Answers the account's view once it is open (its first period and the next one written ahead):
 * the API opens an account with this update and the workflow's start in one call
 * (update-with-start), rather than polling the state query.
 */
export const openedUpdate = defineUpdate<AccountView>('opened');
export const changePlanUpdate = defineUpdate<ChangePlanResult, [ChangePlanInput]>('changePlan');
export const cancelUpdate = defineUpdate<CancelResult>('cancel');
export const changeContractUpdate = defineUpdate<ContractChangeResult, [ContractChangeInput]>('changeContract');

export const accountWorkflowId = (accountId: string): string => `account:${accountId}`;
