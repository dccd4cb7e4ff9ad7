import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AccountActivities, PlanTerms } from '../activities/account-activities.js';
import type { ContractOutcome } from '../src/ledger/contracts.js';
import { formatCredits, ZERO_MICROS } from '../src/money.js';
import { LIMITS } from '../src/contract/limits.js';
import { followingPeriod, periodAt, toPeriodView, zonedIso } from '../src/periods/periods.js';
import {
  accountStateQuery,
  openedUpdate,
  cancelUpdate,
  changeContractUpdate,
  changePlanUpdate,
  type AccountView,
  type OpenAccountView,
  type AccountWorkflowInput,
  type CancelResult,
  type CarriedState,
  type ChangePlanInput,
  type ChangePlanResult,
  type ContractChangeInput,
  type ContractChangeResult,
  type NextPeriod,
  type Schedule,
} from './account-messages.js';
import { ACCOUNT_ID, ACCOUNT_STATUS, PERIOD_END, PLAN_ID } from './search-attributes.js';

const ACTIVITY_OPTIONS = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
} as const;

const activities = proxyActivities<AccountActivities>(ACTIVITY_OPTIONS);

/**
 * Opening and crossing a boundary are one ledger transaction each, run as local activities: they
 * are short and idempotent (every grant has its period's key, expiry finds nothing left the second
 * time), and running them inside the workflow task saves a round trip through the server and an
 * activity task per account and period; at a shared boundary that is what the server spends on.
 */
const ledgerSteps = proxyLocalActivities<AccountActivities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

/** Patch: an account opens in one ledger transaction (earlier runs: five activities). */
const OPEN_IN_ONE_TRANSACTION = 'open-in-one-transaction';
/** Patch: a boundary is one ledger transaction in the same run (earlier runs: continue-as-new, then three activities). */
const BOUNDARY_IN_ONE_TRANSACTION = 'boundary-in-one-transaction';
/**
 * A run crosses at most this many boundaries before it continues as new (or fewer, when Temporal
 * suggests it). A worker that does not hold the workflow in its cache (at a boundary shared by more
 * accounts than the cache holds, nearly every one) replays the run's whole history: 5.5–7 ms of
 * worker CPU per period crossed (`workflow.replay`), while continuing as new costs about 27 ms
 * once (README "Sizing the worker"). Four periods keep the two near their least sum.
 */
export const PERIODS_PER_RUN = 4;
/** Patch: runs of PERIODS_PER_RUN periods (earlier runs continue as new after this many). */
const SHORT_RUNS = 'runs-of-four-periods';
const PERIODS_PER_RUN_BEFORE_SHORT_RUNS = 24;


/** Patch: a plan change writes the next period ahead with the terms in force at its start (workflows started before it used the terms of the moment). */
const NEXT_TERMS_AT_PERIOD_START = 'next-terms-at-period-start';
/** Patch: handlers that wait for the account take it one at a time (earlier runs let every waiter in at once when it was freed). */
const ONE_HOLDER_AT_A_TIME = 'one-holder-at-a-time';

/** An update caller should see UNKNOWN_PLAN itself, not a generic "activity task failed". */
function asBusinessFailure(error: unknown): never {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) throw error.cause;
  throw error;
}

/**
 * One account's billing periods, forever: grant each period's allowance (written one period ahead,
 * so there is no gap at a boundary even when no worker is running), expire what is left of it at
 * its end, and continue-as-new at each boundary. Timers are set for absolute instants, so a worker
 * that was down catches up period by period with exactly the grants and expiries it missed.
 */
export async function accountWorkflow(input: AccountWorkflowInput): Promise<OpenAccountView> {
  const { accountId, timeZone } = input;
  // Undefined only while a new account is being opened; handlers wait for it (see `exclusively`).
  let opened: CarriedState | undefined = input.carried;
  let busy = false;
  // A new account reads as opening until its next period is written ahead too, so that whoever
  // waits for it to open (the API's create) sees both grants; a continued run was open already.
  let firstPeriodsWritten = input.carried !== undefined;

  const state = (): CarriedState => {
    if (!opened) throw new Error('invariant: account state read before the account was opened');
    return opened;
  };
  const nowIso = (): string => new Date(Date.now()).toISOString();
  // Once per run, before any handler can wait: a run keeps the locking it started with.
  const oneHolderAtATime = patched(ONE_HOLDER_AT_A_TIME);

  /**
   * Serializes opening, boundary work and plan changes: each rewrites the written-ahead grants.
   * `condition` releases every waiter whose predicate holds in the same pass, before any of them
   * runs, so each waiter looks again when it resumes: the first takes the account, the others wait
   * on. One test at resumption, no await between it and `busy = true`.
   */
  async function exclusively<T>(work: () => Promise<T>): Promise<T> {
    if (oneHolderAtATime) {
      while (busy) await condition(() => !busy);
    } else {
      await condition(() => !busy);
    }
    busy = true;
    try {
      return await work();
    } finally {
      busy = false;
    }
  }

  /**
   * For update handlers: an update can reach a run that has only just started (the API restarts a
   * workflow and sends the update at once), and must not take the lock before the account is open.
   */
  async function onceOpen<T>(work: () => Promise<T>): Promise<T> {
    await condition(() => opened !== undefined);
    return exclusively(work);
  }

  function view(): AccountView {
    if (!opened || !firstPeriodsWritten) return { accountId, planId: input.planId, seats: input.seats, timeZone, status: 'opening' };
    return openView(opened);
  }

  function openView(s: CarriedState): OpenAccountView {
    const scheduled = s.next && (s.next.plan.planId !== s.plan.planId || s.next.plan.seats !== s.plan.seats) ? s.next.plan : null;
    return {
      accountId,
      planId: s.plan.planId,
      seats: s.plan.seats,
      timeZone,
      status: s.status,
      period: s.period,
      nextRefresh: s.status === 'active' ? s.period.end : null,
      nextPlan: scheduled,
      trialGranted: s.trialGranted,
    };
  }

  function publish(): void {
    const s = state();
    upsertSearchAttributes([
      { key: ACCOUNT_ID, value: accountId },
      { key: PLAN_ID, value: s.plan.planId },
      { key: ACCOUNT_STATUS, value: s.status },
      { key: PERIOD_END, value: new Date(s.period.end) },
    ]);
    const local = (iso: string): string => zonedIso(iso, timeZone);
    const next = s.next
      ? `Renews ${local(s.next.period.start)}: what is left of this period's allowance (and a trial) expires, the next period's ${formatCredits(s.next.allowanceTotal)} credits on ${s.next.plan.planId} × ${s.next.plan.seats}, written ahead, come into force.`
      : `No next period: the account ends ${local(s.period.end)}, and what is left of its allowance expires then.`;
    setCurrentDetails(
      [
        `**${accountId}** · ${s.status} · plan ${s.plan.planId} × ${s.plan.seats} seat(s)`,
        `Period ${s.period.index}: ${local(s.period.start)} → ${local(s.period.end)} (${timeZone}), allowance ${formatCredits(s.allowanceTotal)} credits.`,
        next,
      ].join('\n\n'),
    );
  }

  async function writeAhead(s: CarriedState, terms: PlanTerms): Promise<NextPeriod> {
    const { schedule, period } = followingPeriod(s.schedule, s.period, terms.periodRule, timeZone);
    const grantIds = await activities.grantAllowance.executeWithOptions(
      { ...ACTIVITY_OPTIONS, summary: `write ahead the allowance of the period from ${period.start}` },
      [{ accountId, subscription: input.startAt, terms, period, revision: s.revision, now: nowIso() }],
    );
    return { schedule, period, plan: { planId: terms.planId, seats: terms.seats }, allowanceTotal: terms.allowanceTotal, grantIds, revision: s.revision };
  }

  async function revokeNext(s: CarriedState): Promise<void> {
    if (s.next && s.next.grantIds.length > 0) {
      await activities.revokeGrants.executeWithOptions(
        { ...ACTIVITY_OPTIONS, summary: `revoke the allowance written ahead for ${s.next.period.start}` },
        [{ accountId, grantIds: s.next.grantIds, now: nowIso() }],
      );
    }
    s.next = null;
  }

  async function open(): Promise<CarriedState> {
    if (patched(OPEN_IN_ONE_TRANSACTION)) {
      return ledgerSteps.openPeriods({ accountId, planId: input.planId, seats: input.seats, timeZone, startAt: input.startAt, trial: input.trial, now: nowIso() });
    }
    await activities.openAccount({ accountId, planId: input.planId, seats: input.seats, timeZone, now: input.startAt });
    const at = new Date(Math.max(Date.now(), new Date(input.startAt).getTime()));
    // A re-created account (its workflow ended from outside) keeps the contract it had.
    const terms = await activities.planTerms({ planId: input.planId, seats: input.seats, accountId, at: at.toISOString() });
    const schedule: Schedule = { anchor: input.startAt, rule: terms.periodRule };
    const period = toPeriodView(periodAt(schedule.rule, new Date(schedule.anchor), timeZone, at));
    await activities.grantAllowance.executeWithOptions(
      { ...ACTIVITY_OPTIONS, summary: `grant the allowance of period ${period.index}` },
      [{ accountId, subscription: input.startAt, terms, period, revision: 0, now: nowIso() }],
    );
    let trialGranted = false;
    if (input.trial && terms.trialCredits > 0) {
      ({ granted: trialGranted } = await activities.grantTrial.executeWithOptions(
        { ...ACTIVITY_OPTIONS, summary: 'grant the one-time trial' },
        [{ accountId, credits: terms.trialCredits, expiresAt: period.end, now: nowIso() }],
      ));
      if (!trialGranted) log.info('trial not granted: this account already had one', { accountId });
    }
    return {
      status: 'active',
      trialGranted,
      schedule,
      period,
      plan: { planId: terms.planId, seats: terms.seats },
      allowanceTotal: terms.allowanceTotal,
      next: null,
      atBoundary: false,
      revision: 0,
    };
  }

  async function changePlan(change: ChangePlanInput): Promise<ChangePlanResult> {
    return onceOpen(async () => {
      const s = state();
      if (s.status !== 'active') {
        throw ApplicationFailure.create({ message: `account ${accountId} is ${s.status}`, type: 'ACCOUNT_NOT_ACTIVE', nonRetryable: true });
      }
      const now = nowIso();
      const from = await activities.planTerms({ ...s.plan, accountId, at: now });
      const to = await activities.planTerms({ ...change, accountId, at: now }).catch(asBusinessFailure);
      s.revision++;
      let grantedNow = ZERO_MICROS;
      const upgrade = to.allowanceTotal > from.allowanceTotal;
      if (upgrade) {
        grantedNow = await activities.grantUpgrade.executeWithOptions(
          { ...ACTIVITY_OPTIONS, summary: `upgrade to ${change.planId} × ${change.seats}: grant the difference now` },
          [{ accountId, subscription: input.startAt, from, to, period: s.period, revision: s.revision, now }],
        );
        await activities.setAccountPlan({ accountId, ...change, status: 'active', now });
        s.plan = { planId: change.planId, seats: change.seats };
        s.allowanceTotal = to.allowanceTotal;
      }
      await revokeNext(s);
      // The next period's terms are those in force at its start: a contract scheduled for it counts.
      const next = patched(NEXT_TERMS_AT_PERIOD_START) ? await activities.planTerms({ ...change, accountId, at: s.period.end }) : to;
      s.next = await writeAhead(s, next);
      publish();
      return upgrade
        ? { effective: 'now', ...s.plan, grantedNow, effectiveAt: now }
        : { effective: 'next_period', planId: change.planId, seats: change.seats, grantedNow, effectiveAt: s.next.period.start };
    });
  }

  /**
   * New contract terms: recorded from now or from the next period. From now, an allowance increase
   * is granted for the rest of the period like an upgrade (a decrease waits for the next period);
   * either way the next period is written ahead again under the new terms.
   */
  async function changeContract(change: ContractChangeInput): Promise<ContractChangeResult> {
    return onceOpen(async () => {
      const s = state();
      if (s.status !== 'active') {
        throw ApplicationFailure.create({ message: `account ${accountId} is ${s.status}`, type: 'ACCOUNT_NOT_ACTIVE', nonRetryable: true });
      }
      const now = nowIso();
      const effectiveFrom = change.effective === 'now' ? now : s.period.end;
      const recorded = await activities.recordContract({ accountId, ...change, effectiveFrom, now }).catch(asBusinessFailure);
      const nextPlan = s.next?.plan ?? s.plan;
      const answer = (outcome: ContractOutcome, replayed: boolean): ContractChangeResult => ({
        contractId: recorded.contractId,
        effective: change.effective,
        effectiveAt: recorded.effectiveFrom,
        ...outcome,
        replayed,
      });
      // Applied already: handlers run one at a time, so the first one stored its outcome.
      if (recorded.replayed && recorded.outcome) return answer(recorded.outcome, true);
      s.revision++;
      let grantedNow = ZERO_MICROS;
      // A replay without a stored outcome (its first run ended from outside mid-way) may have granted
      // the difference already: it only writes the next period again.
      if (change.effective === 'now' && !recorded.replayed) {
        const before = new Date(new Date(recorded.effectiveFrom).getTime() - 1).toISOString();
        const from = await activities.planTerms({ ...s.plan, accountId, at: before });
        const to = await activities.planTerms({ ...s.plan, accountId, at: recorded.effectiveFrom });
        if (to.allowanceTotal > from.allowanceTotal) {
          grantedNow = await activities.grantUpgrade.executeWithOptions(
            { ...ACTIVITY_OPTIONS, summary: `contract ${recorded.contractId}: grant the difference now` },
            [{ accountId, subscription: input.startAt, from, to, period: s.period, revision: s.revision, now }],
          );
          s.allowanceTotal = to.allowanceTotal;
        }
      }
      await revokeNext(s);
      s.next = await writeAhead(s, await activities.planTerms({ ...nextPlan, accountId, at: s.period.end }));
      const outcome = { grantedNow, nextAllowance: s.next.allowanceTotal };
      await activities.completeContract({ accountId, contractId: recorded.contractId, outcome });
      publish();
      return answer(outcome, recorded.replayed);
    });
  }

  async function cancel(): Promise<CancelResult> {
    return onceOpen(async () => {
      const s = state();
      if (s.status !== 'active') return { status: s.status, endsAt: s.period.end };
      s.status = 'cancelling';
      await revokeNext(s);
      await activities.setAccountPlan({ accountId, ...s.plan, status: 'cancelling', now: nowIso() });
      publish();
      return { status: s.status, endsAt: s.period.end };
    });
  }

  setHandler(accountStateQuery, view);
  setHandler(openedUpdate, async () => {
    await condition(() => opened !== undefined && firstPeriodsWritten);
    return view();
  });
  setHandler(changePlanUpdate, changePlan, {
    validator: (change: ChangePlanInput) => {
      if (typeof change.planId !== 'string' || change.planId.length === 0 || change.planId.length > 64) throw new Error('planId must be a plan id');
      if (!Number.isInteger(change.seats) || change.seats < 1 || change.seats > LIMITS.maxSeats) throw new Error(`seats must be an integer from 1 to ${LIMITS.maxSeats}`);
      if (!opened) return; // still opening: the handler runs once it is open
      if (opened.status !== 'active') throw new Error(`account ${accountId} is ${opened.status}: its plan can no longer change`);
      const scheduled = opened.next?.plan ?? opened.plan;
      if (scheduled.planId === change.planId && scheduled.seats === change.seats) throw new Error(`plan ${change.planId} × ${change.seats} is already scheduled`);
    },
  });
  setHandler(changeContractUpdate, changeContract, {
    validator: (change: ContractChangeInput) => {
      const effects: readonly string[] = ['now', 'next_period'];
      if (!effects.includes(change.effective)) throw new Error('effective must be "now" or "next_period"');
      if (opened && opened.status !== 'active') throw new Error(`account ${accountId} is ${opened.status}: its contract can no longer change`);
    },
  });
  setHandler(cancelUpdate, cancel, {
    validator: () => {
      if (opened && opened.status !== 'active') throw new Error(`account ${accountId} is already ${opened.status}`);
    },
  });

  await exclusively(async () => {
    opened ??= await open();
    const s = opened;
    if (s.atBoundary) {
      // Entering a period: what is left of the previous one expires at the boundary itself.
      await activities.expireEnded.executeWithOptions(
        { ...ACTIVITY_OPTIONS, summary: `expire what is left at ${s.period.start}` },
        [{ accountId, now: s.period.start }],
      );
      s.atBoundary = false;
    }
    if (s.status === 'active' && !s.next) s.next = await writeAhead(s, await activities.planTerms({ ...s.plan, accountId, at: s.period.end }));
  });
  firstPeriodsWritten = true;
  publish();

  // Period after period in this run; continue-as-new every PERIODS_PER_RUN, or when Temporal suggests it.
  const periodsPerRun = patched(SHORT_RUNS) ? PERIODS_PER_RUN : PERIODS_PER_RUN_BEFORE_SHORT_RUNS;
  for (let crossed = 0; ; ) {
    const ended = await periodEnded();
    await condition(() => !busy && allHandlersFinished());
    if (ended === 'continue') return continueAsNew<typeof accountWorkflow>({ ...input, carried: state() });
    if (!patched(BOUNDARY_IN_ONE_TRANSACTION)) return continueAtBoundary();
    if (await exclusively(crossBoundary)) return openView(state());
    if (++crossed >= periodsPerRun) {
      await condition(() => !busy && allHandlersFinished());
      return continueAsNew<typeof accountWorkflow>({ ...input, carried: state() });
    }
  }

  /** Waits for the period's end at an absolute instant, or until Temporal suggests continuing as new. */
  async function periodEnded(): Promise<'ended' | 'continue'> {
    for (;;) {
      const remainingMs = new Date(state().period.end).getTime() - Date.now();
      if (remainingMs <= 0) return 'ended';
      const suggested = await condition(() => workflowInfo().continueAsNewSuggested, remainingMs, {
        summary: `period ${state().period.index} ends ${state().period.end}`,
      });
      if (suggested) return 'continue';
    }
  }

  /** Enters the period written ahead and writes the one after it, in one transaction; true once the account has ended. */
  async function crossBoundary(): Promise<boolean> {
    const s = state();
    const entering = s.next;
    const ahead = await ledgerSteps.crossBoundary({ accountId, subscription: input.startAt, timeZone, boundary: s.period.end, plan: s.plan, entering, revision: s.revision, now: nowIso() });
    if (!entering) {
      s.status = 'cancelled';
      publish();
      log.info('account cancelled at period end', { accountId, at: s.period.end });
      return true;
    }
    Object.assign(s, { schedule: entering.schedule, period: entering.period, plan: entering.plan, allowanceTotal: entering.allowanceTotal, next: ahead });
    publish();
    return false;
  }

  /** The boundary as runs before BOUNDARY_IN_ONE_TRANSACTION crossed it: the next run does the work. */
  async function continueAtBoundary(): Promise<OpenAccountView> {
    const s = state();
    if (!s.next) {
      s.status = 'cancelled';
      await activities.expireEnded({ accountId, now: s.period.end });
      await activities.setAccountPlan({ accountId, ...s.plan, status: 'cancelled', now: s.period.end });
      publish();
      log.info('account cancelled at period end', { accountId, at: s.period.end });
      return openView(s);
    }
    const next = s.next;
    if (next.plan.planId !== s.plan.planId || next.plan.seats !== s.plan.seats) {
      await activities.setAccountPlan({ accountId, ...next.plan, status: 'active', now: next.period.start });
    }
    return continueAsNew<typeof accountWorkflow>({
      ...input,
      carried: { ...s, schedule: next.schedule, period: next.period, plan: next.plan, allowanceTotal: next.allowanceTotal, next: null, atBoundary: true },
    });
  }
}
