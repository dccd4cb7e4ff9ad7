import type { Catalog } from '../catalog/catalog.js';
import { GRANT_SOURCES } from '../contract/fields.js';
import type { JobView as StoredJob } from '../jobs/jobs.js';
import type { ChargeDraw } from '../ledger/charge-batch.js';
import type { Balance } from '../ledger/reports.js';
import { renewalAt, type RenewalGrant } from '../ledger/renewal.js';
import { microsToCredits as c } from '../money.js';
import { daysLeft } from '../periods/periods.js';
import type { AccountView as AccountWorkflowView } from '../../workflows/account-messages.js';
import type { AccountView, CatalogView, JobView } from './schemas.js';

/** The engine's records (micros) as the API shows them (credits). */

export function catalogView(catalog: Catalog): CatalogView {
  return {
    features: [...catalog.features.values()].map((feature) => ({
      featureId: feature.id,
      name: feature.name,
      unit: feature.unit,
      kind: feature.kind,
      unitPrice: c(feature.unitPrice),
      variants: Object.fromEntries(Object.entries(feature.variants).map(([name, price]) => [name, c(price)])),
      chargeableOutcomes: feature.chargeableOutcomes ?? null,
      reexportWindowDays: feature.reexportWindowDays ?? null,
    })),
    plans: [...catalog.plans.values()].map((plan) => ({
      planId: plan.id,
      name: plan.name,
      features: plan.features,
      allowances: plan.allowances.map((allowance) => ({ credits: c(allowance.credits), perSeat: allowance.perSeat, features: allowance.features ?? null })),
      trialCredits: plan.trialCredits === undefined ? null : c(plan.trialCredits),
      period: { ...plan.period },
    })),
  };
}

const renewalGrant = (grant: RenewalGrant) => ({ grantId: grant.grantId, source: grant.source, credits: c(grant.credits) });

/** The ledger's balance with the period as the account's workflow sees it (null while opening or unreachable). */
export function accountView(balance: Balance, workflow: AccountWorkflowView | null, now: Date): AccountView {
  const open = workflow && workflow.status !== 'opening' ? workflow : null;
  const renewal = open ? renewalAt(balance.grants, open.period.end) : null;
  return {
    accountId: balance.accountId,
    planId: balance.planId,
    seats: balance.seats,
    timeZone: balance.timeZone,
    status: workflow?.status === 'opening' ? 'opening' : (balance.status as AccountView['status']),
    period: open ? { start: open.period.start, end: open.period.end, daysLeft: daysLeft(new Date(open.period.end), now, balance.timeZone) } : null,
    nextPlan: open?.nextPlan ?? null,
    balance: {
      available: c(balance.available),
      held: c(balance.held),
      bySource: Object.fromEntries(GRANT_SOURCES.map((source) => [source, c(balance.bySource[source])])) as AccountView['balance']['bySource'],
    },
    grants: balance.grants.map((grant) => ({
      id: grant.grantId,
      source: grant.source,
      amount: c(grant.amount),
      remaining: c(grant.remaining),
      held: c(grant.held),
      available: c(grant.available),
      status: grant.status,
      effectiveAt: grant.effectiveAt,
      expiresAt: grant.expiresAt,
      priority: grant.priority,
      features: grant.features,
    })),
    renewal: renewal && {
      at: renewal.at,
      grants: renewal.grants.map(renewalGrant),
      expires: renewal.expires.map((grant) => ({ ...renewalGrant(grant), expiresAt: grant.expiresAt })),
    },
  };
}

export function jobView(job: StoredJob): JobView {
  // What the records were charged is answered once, in credits: credits.charged.
  const { total, processed, verified, notFound, failed } = job.progress;
  return {
    jobId: job.jobId,
    accountId: job.accountId,
    feature: job.feature,
    userId: job.userId,
    status: job.status,
    pauseReason: job.pauseReason,
    stopReason: job.stopReason,
    maxCredits: job.maxCredits === null ? null : c(job.maxCredits),
    progress: { total, processed, verified, notFound, failed },
    credits: {
      reserved: c(job.credits.reserved),
      charged: c(job.credits.charged),
      released: c(job.credits.released),
      expired: c(job.credits.expired),
      held: c(job.credits.held),
      needed: c(job.credits.needed),
      accountAvailable: c(job.credits.accountAvailable),
    },
    timeZone: job.timeZone,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

/** Which grants paid for a charge, in credits. */
export function drawsInCredits(draws: readonly ChargeDraw[]): { grantId: string; source: ChargeDraw['source']; credits: number }[] {
  return draws.map((draw) => ({ grantId: draw.grantId, source: draw.source, credits: c(draw.credits) }));
}
