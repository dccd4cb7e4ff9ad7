import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AccountActivities, PlanTerms } from '../activities/account-activities.js';
import type { ContractOutcome } from '../src/ledger/contracts.js';
import { formatCredits } from '../src/money.js';
import { LIMITS } from '../src/contract/limits.js';
import { periodAt, periodByIndex } from '../src/periods/periods.js';
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
  type PeriodView,
  type Schedule,
} from './account-messages.js';
import { ACCOUNT_ID, ACCOUNT_STATUS, PERIOD_END, PLAN_ID } from './search-attributes.js';

const ACTIVITY_OPTIONS = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
} as const;

const activities = proxyActivities<AccountActivities>(ACTIVITY_OPTIONS);


/** Patch: a plan change writes the next period ahead with the terms in force at its start (workflows started before it used the terms of the moment). */
const NEXT_TERMS_AT_PERIOD_START = 'next-terms-at-period-start';

function toView(period: { index: number; start: Date; end: Date }): PeriodView {
  return { index: period.index, start: period.start.toISOString(), end: period.end.toISOString() };
}

function sameRule(a: Schedule['rule'], b: Schedule['rule']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The period after `period`; a plan with another period rule starts a new schedule at the boundary. */
function followingPeriod(schedule: Schedule, period: PeriodView, terms: PlanTerms, timeZone: string): { schedule: Schedule; period: PeriodView } {
  if (sameRule(schedule.rule, terms.periodRule)) {
    return { schedule, period: toView(periodByIndex(schedule.rule, new Date(schedule.anchor), timeZone, period.index + 1)) };
  }
  const fresh: Schedule = { anchor: period.end, rule: terms.periodRule };
  return { schedule: fresh, period: toView(periodByIndex(fresh.rule, new Date(fresh.anchor), timeZone, 0)) };
}

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

  /** Serializes opening, boundary work and plan changes: each rewrites the written-ahead grants. */
  async function exclusively<T>(work: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
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
    const next = s.next
      ? `Next period from ${s.next.period.start}: ${formatCredits(s.next.allowanceTotal)} credits on ${s.next.plan.planId} × ${s.next.plan.seats} (written ahead).`
      : 'No next period: the account ends with this one.';
    setCurrentDetails(
      [
        `**${accountId}** · ${s.status} · plan ${s.plan.planId} × ${s.plan.seats} seat(s)`,
        `Period ${s.period.index}: ${s.period.start} → ${s.period.end} (${timeZone}), allowance ${formatCredits(s.allowanceTotal)} credits.`,
        next,
      ].join('\n\n'),
    );
  }

  async function writeAhead(s: CarriedState, terms: PlanTerms): Promise<NextPeriod> {
    const { schedule, period } = followingPeriod(s.schedule, s.period, terms, timeZone);
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
    await activities.openAccount({ accountId, planId: input.planId, seats: input.seats, timeZone, now: input.startAt });
    const at = new Date(Math.max(Date.now(), new Date(input.startAt).getTime()));
    // A re-created account (its workflow ended from outside) keeps the contract it had.
    const terms = await activities.planTerms({ planId: input.planId, seats: input.seats, accountId, at: at.toISOString() });
    const schedule: Schedule = { anchor: input.startAt, rule: terms.periodRule };
    const period = toView(periodAt(schedule.rule, new Date(schedule.anchor), timeZone, at));
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
      let grantedNow = 0;
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
      let grantedNow = 0;
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

  // Wait for the period's end at an absolute instant; continue-as-new early if history grows large.
  for (;;) {
    const remainingMs = new Date(state().period.end).getTime() - Date.now();
    if (remainingMs <= 0) break;
    const suggested = await condition(() => workflowInfo().continueAsNewSuggested, remainingMs, {
      summary: `period ${state().period.index} ends ${state().period.end}`,
    });
    if (suggested) {
      await condition(() => !busy && allHandlersFinished());
      return continueAsNew<typeof accountWorkflow>({ ...input, carried: state() });
    }
  }

  await condition(() => !busy && allHandlersFinished());
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
    carried: {
      ...s,
      schedule: next.schedule,
      period: next.period,
      plan: next.plan,
      allowanceTotal: next.allowanceTotal,
      next: null,
      atBoundary: true,
    },
  });
}
