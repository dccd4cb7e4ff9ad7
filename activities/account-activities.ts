import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { Catalog, Plan } from '../src/catalog/catalog.js';
import type { PeriodRule } from '../src/catalog/schema.js';
import { appendEvent, appendPeriodRenewed } from '../src/events/outbox.js';
import { contractAllowances, contractAt } from '../src/ledger/contracts.js';
import { withTransaction, type Queryable } from '../src/ledger/db.js';
import { isLedgerError } from '../src/ledger/errors.js';
import { engineKeys } from '../src/ledger/keys.js';
import type { Ledger, LedgerOperations } from '../src/ledger/ledger.js';
import type { ContractInput, ContractOutcome, ContractResult } from '../src/ledger/contracts.js';
import { subtractMicros, sumMicros, ZERO_MICROS, type Micros } from '../src/money.js';
import { followingPeriod, periodAt, toPeriodView, type PeriodView, type Schedule } from '../src/periods/periods.js';
import type { AccountWorkflowInput, CarriedState, NextPeriod, PlanView } from '../workflows/account-messages.js';
import { asActivityFailure } from './failures.js';

export interface AccountActivityDeps {
  ledger: Ledger;
  catalog: Catalog;
  /**
   * The ledger's pool: a period's allowance is looked up and written in one transaction, and period
   * events (`period.renewed`, `credits.expired`) go to the outbox in the transaction of the grant or
   * expiry that makes them true.
   */
  pool: pg.Pool;
}

/** What a plan gives per period, for `seats` seats: everything the account workflow needs to know. */
export interface PlanTerms {
  planId: string;
  seats: number;
  periodRule: PeriodRule;
  /** Each allowance becomes its own grant; `features` restricts what it may pay for. */
  allowances: { amount: Micros; features: string[] | null }[];
  allowanceTotal: Micros;
  trialCredits: Micros;
  /** The account's contract these terms include (src/ledger/contracts.ts); null: the plan alone. */
  contractId?: string | null;
}

/** Whose terms at which instant: without an account, the plan's alone. */
export interface TermsRequest {
  planId: string;
  seats: number;
  accountId?: string;
  at?: string;
}

/** A period's allowance to write: the terms it is written for, and the revision of the account's write-ahead. */
export interface AllowanceRequest {
  accountId: string;
  subscription: string;
  terms: PlanTerms;
  period: PeriodRef;
  revision: number;
  now: string;
}

export interface PeriodRef {
  start: string;
  end: string;
}

/** Allowance grants by restriction, so an upgrade tops up calling credits only with calling credits. */
function allowanceByRestriction(terms: PlanTerms): Map<string, { amount: Micros; features: string[] | null }> {
  const groups = new Map<string, { amount: Micros; features: string[] | null }>();
  for (const allowance of terms.allowances) {
    const key = allowance.features ? [...allowance.features].sort().join(',') : '*';
    const group = groups.get(key) ?? { amount: ZERO_MICROS, features: allowance.features };
    groups.set(key, { ...group, amount: sumMicros([group.amount, allowance.amount]) });
  }
  return groups;
}

export interface OpenLedgerAccount {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  now: string;
}

export interface TrialRequest {
  accountId: string;
  credits: Micros;
  expiresAt: string;
  now: string;
}

/** What the account workflow starts with (`startAt` anchors its schedule), at the workflow's `now`. */
export type OpenPeriodsInput = Omit<AccountWorkflowInput, 'carried'> & { now: string };

/** A boundary to cross: the period written ahead for it (null: none, the account ends) and the plan that ends. */
export interface BoundaryInput {
  accountId: string;
  subscription: string;
  timeZone: string;
  boundary: string;
  plan: PlanView;
  entering: NextPeriod | null;
  /** The account's write-ahead revision: the next period is written under it. */
  revision: number;
  now: string;
}

interface WriteAheadRequest {
  accountId: string;
  subscription: string;
  timeZone: string;
  schedule: Schedule;
  /** The period the one written ahead follows. */
  after: PeriodView;
  plan: PlanView;
  revision: number;
  now: string;
}

/** A trial is granted at most once per account: the ledger refuses a second one. */
async function writeTrial(operations: LedgerOperations, input: TrialRequest): Promise<{ granted: boolean }> {
  try {
    await operations.grant({
      accountId: input.accountId,
      source: 'trial',
      credits: input.credits,
      effectiveAt: new Date(input.now),
      expiresAt: new Date(input.expiresAt),
      ...engineKeys.trial(),
      now: new Date(input.now),
    });
    return { granted: true };
  } catch (error) {
    // Either refusal means this account already had its trial (the key is the same for every subscription).
    if (isLedgerError(error, 'TRIAL_ALREADY_GRANTED') || isLedgerError(error, 'IDEMPOTENCY_CONFLICT')) return { granted: false };
    throw error;
  }
}

export function createAccountActivities({ ledger, catalog, pool }: AccountActivityDeps) {
  function requirePlan(planId: string): Plan {
    const plan = catalog.plan(planId);
    if (!plan) throw ApplicationFailure.create({ message: `plan "${planId}" is not in the catalog`, type: 'UNKNOWN_PLAN', nonRetryable: true });
    return plan;
  }

  async function termsOf({ planId, seats, accountId, at }: TermsRequest, db: Queryable = pool): Promise<PlanTerms> {
    const plan = requirePlan(planId);
    const planAllowances = catalog.allowanceAmounts(plan, seats).map((allowance) => ({ amount: allowance.amount, features: allowance.features ? [...allowance.features] : null }));
    const contract = accountId && at ? await contractAt(db, accountId, new Date(at)) : null;
    const allowances = contractAllowances(planAllowances, contract, seats);
    return {
      planId,
      seats,
      periodRule: plan.period,
      allowances,
      allowanceTotal: sumMicros(allowances.map((allowance) => allowance.amount)),
      trialCredits: plan.trialCredits ?? ZERO_MICROS,
      contractId: contract?.contractId ?? null,
    };
  }

  /**
   * Grants a period's allowance in the caller's transaction, effective at its start and expiring at
   * its end, unless the period already has a live one: then its grants are returned and nothing is
   * written, so a retry, a replay or another run never grants twice (`writePeriodAllowance`).
   */
  async function writeAllowance(client: Queryable, input: AllowanceRequest): Promise<string[]> {
    return ledger.within(client).writePeriodAllowance({
      accountId: input.accountId,
      period: { start: new Date(input.period.start), end: new Date(input.period.end) },
      revision: input.revision,
      planId: input.terms.planId,
      seats: input.terms.seats,
      contractId: input.terms.contractId ?? null,
      allowanceMicros: input.terms.allowanceTotal,
      allowances: input.terms.allowances,
      now: new Date(input.now),
    });
  }

  /**
   * What ended at a boundary leaves the balance: `credits.expired` says how much, and
   * `period.renewed` that the period starting at `now` is in force. Run again, it finds nothing
   * left to expire and the period's event already written: no duplicates.
   */
  async function expireAtBoundary(client: Queryable, accountId: string, now: Date): Promise<Micros> {
    const results = await ledger.within(client).expireDue({ accountId, now });
    for (const grant of results) {
      if (grant.expired === 0) continue;
      const payload = { grantId: grant.grantId, source: grant.source, credits: grant.expired, periodStart: grant.effectiveAt, periodEnd: grant.expiresAt };
      await appendEvent(client, { type: 'credits.expired', accountId, payload }, now);
    }
    await appendPeriodRenewed(client, accountId, now, now);
    return sumMicros(results.map((grant) => grant.expired));
  }

  /** The next period written ahead under the terms in force at its start (a contract scheduled for it counts). */
  async function writeAhead(client: Queryable, input: WriteAheadRequest): Promise<NextPeriod> {
    const terms = await termsOf({ ...input.plan, accountId: input.accountId, at: input.after.end }, client);
    const { schedule, period } = followingPeriod(input.schedule, input.after, terms.periodRule, input.timeZone);
    const grantIds = await writeAllowance(client, { accountId: input.accountId, subscription: input.subscription, terms, period, revision: input.revision, now: input.now });
    return { schedule, period, plan: { planId: terms.planId, seats: terms.seats }, allowanceTotal: terms.allowanceTotal, grantIds, revision: input.revision };
  }

  /** Opens the ledger account, grants its first period (and trial), writes the next one ahead: one transaction. */
  async function openPeriods(client: Queryable, input: OpenPeriodsInput): Promise<CarriedState> {
    const operations = ledger.within(client);
    await operations.activateAccount({ accountId: input.accountId, planId: input.planId, seats: input.seats, timeZone: input.timeZone, now: new Date(input.startAt) });
    const at = new Date(Math.max(new Date(input.now).getTime(), new Date(input.startAt).getTime()));
    // A re-created account (its workflow ended from outside) keeps the contract it had.
    const terms = await termsOf({ planId: input.planId, seats: input.seats, accountId: input.accountId, at: at.toISOString() }, client);
    const schedule: Schedule = { anchor: input.startAt, rule: terms.periodRule };
    const period = toPeriodView(periodAt(schedule.rule, new Date(schedule.anchor), input.timeZone, at));
    await writeAllowance(client, { accountId: input.accountId, subscription: input.startAt, terms, period, revision: 0, now: input.now });
    const trialGranted = input.trial && terms.trialCredits > 0 && (await writeTrial(operations, { accountId: input.accountId, credits: terms.trialCredits, expiresAt: period.end, now: input.now })).granted;
    const plan = { planId: terms.planId, seats: terms.seats };
    const next = await writeAhead(client, { accountId: input.accountId, subscription: input.startAt, timeZone: input.timeZone, schedule, after: period, plan, revision: 0, now: input.now });
    return { status: 'active', trialGranted, schedule, period, plan, allowanceTotal: terms.allowanceTotal, next, atBoundary: false, revision: 0 };
  }

  /**
   * Crosses a boundary in one transaction: what ended expires, the period written ahead becomes the
   * current one (its plan in force for gating), and the period after it is written ahead; with no
   * period written ahead (a cancellation), the account is cancelled instead.
   */
  async function crossBoundary(client: Queryable, input: BoundaryInput): Promise<NextPeriod | null> {
    const boundary = new Date(input.boundary);
    await expireAtBoundary(client, input.accountId, boundary);
    const operations = ledger.within(client);
    const { entering } = input;
    if (!entering) {
      await operations.setAccountPlan({ accountId: input.accountId, ...input.plan, status: 'cancelled', now: boundary });
      return null;
    }
    if (entering.plan.planId !== input.plan.planId || entering.plan.seats !== input.plan.seats) {
      await operations.setAccountPlan({ accountId: input.accountId, ...entering.plan, status: 'active', now: boundary });
    }
    const ahead = { schedule: entering.schedule, after: entering.period, plan: entering.plan, revision: input.revision };
    return writeAhead(client, { accountId: input.accountId, subscription: input.subscription, timeZone: input.timeZone, ...ahead, now: input.now });
  }

  return {
    /** The plan's terms for `seats` seats, with the account's contract in force at `at` when both are given. */
    async planTerms(input: TermsRequest): Promise<PlanTerms> {
      return asActivityFailure(() => termsOf(input));
    },

    /** Stores what applying a contract did, so that a replay of its request answers the same. */
    async completeContract(input: { accountId: string; contractId: string; outcome: ContractOutcome }): Promise<void> {
      return asActivityFailure(() => ledger.completeContract(input));
    },

    /** Records contract terms from the instant the workflow chose; a replay answers the first record. */
    async recordContract(input: Omit<ContractInput, 'now' | 'effectiveFrom'> & { effectiveFrom: string; now: string }): Promise<ContractResult & { replayed: boolean }> {
      return asActivityFailure(() => ledger.setContract({ ...input, effectiveFrom: new Date(input.effectiveFrom), now: new Date(input.now) }));
    },

    /** Creates the ledger account, or puts a returning (re-subscribing) one on its new plan. */
    async openAccount(input: OpenLedgerAccount): Promise<{ created: boolean }> {
      return asActivityFailure(() => ledger.activateAccount({ ...input, now: new Date(input.now) }));
    },

    /** A period's allowance in a transaction of its own (`writeAllowance`). */
    async grantAllowance(input: AllowanceRequest): Promise<string[]> {
      return asActivityFailure(() => withTransaction(pool, (client) => writeAllowance(client, input)));
    },

    /** Grants the difference between two plans' allowances for the rest of the current period. */
    async grantUpgrade(input: { accountId: string; subscription: string; from: PlanTerms; to: PlanTerms; period: PeriodRef; revision: number; now: string }): Promise<Micros> {
      return asActivityFailure(async () => {
        const before = allowanceByRestriction(input.from);
        const granted: Micros[] = [];
        for (const [key, group] of allowanceByRestriction(input.to)) {
          const difference = subtractMicros(group.amount, before.get(key)?.amount ?? ZERO_MICROS);
          if (difference <= 0) continue;
          await ledger.grant({
            accountId: input.accountId,
            source: 'allowance',
            credits: difference,
            effectiveAt: new Date(input.now),
            expiresAt: new Date(input.period.end),
            ...(group.features ? { features: group.features } : {}),
            ...engineKeys.upgrade(input.subscription, input.period.start, input.revision, key),
            now: new Date(input.now),
          });
          granted.push(difference);
        }
        return sumMicros(granted);
      });
    },

    /** A trial is granted at most once per account: the ledger refuses a second one. */
    async grantTrial(input: TrialRequest): Promise<{ granted: boolean }> {
      return asActivityFailure(() => writeTrial(ledger, input));
    },

    /** What ended at a boundary leaves the balance (`expireAtBoundary`), in a transaction of its own. */
    async expireEnded(input: { accountId: string; now: string }): Promise<Micros> {
      return asActivityFailure(() => withTransaction(pool, (client) => expireAtBoundary(client, input.accountId, new Date(input.now))));
    },

    /** A new account's ledger account, first period (and trial) and the next period written ahead, in one transaction. */
    async openPeriods(input: OpenPeriodsInput): Promise<CarriedState> {
      return asActivityFailure(() => withTransaction(pool, (client) => openPeriods(client, input)));
    },

    /** A boundary crossed in one transaction (`crossBoundary`); null: the account is now cancelled. */
    async crossBoundary(input: BoundaryInput): Promise<NextPeriod | null> {
      return asActivityFailure(() => withTransaction(pool, (client) => crossBoundary(client, input)));
    },

    async revokeGrants(input: { accountId: string; grantIds: string[]; now: string }): Promise<void> {
      return asActivityFailure(async () => {
        for (const grantId of input.grantIds) await ledger.revokePendingGrant({ accountId: input.accountId, grantId, now: new Date(input.now) });
      });
    },

    async setAccountPlan(input: { accountId: string; planId: string; seats: number; status: 'active' | 'cancelling' | 'cancelled'; now: string }): Promise<void> {
      return asActivityFailure(async () => {
        await ledger.setAccountPlan({ ...input, now: new Date(input.now) });
      });
    },
  };
}

export type AccountActivities = ReturnType<typeof createAccountActivities>;
