/**
 * The demo `npm run dev` seeds through the typed client, and what it needs of the catalog: with a
 * catalog of one's own that lacks it, the stack starts without the demo and says why.
 */
import type { Catalog } from '../catalog/catalog.js';
import { CreditsApiError, type CreditsClient } from '../client/client.js';

/**
 * The demo the stack seeds: an account on a per-seat plan with a trial, and a small bulk job; it
 * refuses a spend by a user it has not registered. A second account shows the other policy: it
 * registers unknown users on their first spend.
 */
export const DEMO = {
  accountId: 'demo',
  openAccountId: 'demo-open',
  planId: 'sales-email-pro',
  seats: 2,
  adminUserId: 'admin',
  jobId: 'demo-leads',
  feature: 'lead.email-finder',
  /** What the banner's curl commands charge a newcomer for. */
  chargeFeature: 'ai.variable',
  records: 200,
  /** Fixed, so a second start replays the job's creation instead of making another one. */
  idempotencyKey: 'dev-stack-demo-leads-v1',
} as const;

/** What the seed did. */
export interface DemoSeed {
  accountId: string;
  jobId: string;
  accountCreated: boolean;
  jobCreated: boolean;
  /** Demo data changed since it was seeded, kept as it is. */
  notes: string[];
}

/**
 * Why `catalog` cannot hold the demo (one sentence), or null when it can: the demo's plan, with the
 * enrichment feature its job runs and the feature the banner's commands charge.
 */
export function demoCatalogProblem(catalog: Catalog): string | null {
  const plan = catalog.plan(DEMO.planId);
  if (!plan) return `it has no plan "${DEMO.planId}"`;
  const missing = [DEMO.feature, DEMO.chargeFeature].filter((feature) => !plan.features.includes(feature));
  if (missing.length > 0) return `its plan "${DEMO.planId}" lacks ${missing.map((feature) => `"${feature}"`).join(' and ')}`;
  if (catalog.feature(DEMO.feature)?.kind !== 'enrichment') return `its feature "${DEMO.feature}" is not an enrichment feature (the demo's bulk job needs one)`;
  return null;
}

/** Demo leads: fixed ids and addresses, so the same records (and outcomes) come back every time. */
function demoRecords(): { recordId: string; input: { email: string } }[] {
  return Array.from({ length: DEMO.records }, (_, index) => {
    const n = String(index + 1).padStart(3, '0');
    return { recordId: `lead-${n}`, input: { email: `lead-${n}@example.com` } };
  });
}

/**
 * Creates the demo account and starts its job through the API, as a product would. Both calls are
 * idempotent: the account answers 200 when it exists with the same settings, the job replays its
 * creation by its fixed idempotency key. Changes made to the demo since (another plan, other
 * records) are kept and reported, not undone.
 */
export async function seedDemo(client: CreditsClient): Promise<DemoSeed> {
  const notes: string[] = [];
  const before = await client.getAccount(DEMO.accountId).catch((error: unknown) => {
    if (error instanceof CreditsApiError && error.status === 404) return null;
    throw error;
  });
  if (before?.status === 'cancelled') {
    // Creating it again would subscribe it anew: someone cancelled it on purpose.
    notes.push(`account "${DEMO.accountId}" was cancelled; kept as it is`);
  } else {
    try {
      await client.createAccount({
        accountId: DEMO.accountId,
        planId: DEMO.planId,
        seats: DEMO.seats,
        trial: true,
        users: [{ userId: DEMO.adminUserId, role: 'admin' }],
      });
    } catch (error) {
      if (!(error instanceof CreditsApiError && error.code === 'ACCOUNT_EXISTS')) throw error;
      notes.push(`account "${DEMO.accountId}" exists with other settings; kept as it is`);
    }
  }
  const accountCreated = before === null;
  try {
    await client.createAccount({ accountId: DEMO.openAccountId, planId: DEMO.planId, users: [{ userId: DEMO.adminUserId, role: 'admin' }], unknownUsers: 'register' });
  } catch (error) {
    if (!(error instanceof CreditsApiError && error.code === 'ACCOUNT_EXISTS')) throw error;
    notes.push(`account "${DEMO.openAccountId}" exists with other settings; kept as it is`);
  }
  let jobCreated = false;
  try {
    const existing = await client.getJob(DEMO.jobId).catch((error: unknown) => {
      if (error instanceof CreditsApiError && error.status === 404) return null;
      throw error;
    });
    await client.createJob(DEMO.accountId, {
      jobId: DEMO.jobId,
      feature: DEMO.feature,
      userId: DEMO.adminUserId,
      idempotencyKey: DEMO.idempotencyKey,
      records: demoRecords(),
      start: true,
    });
    jobCreated = existing === null;
  } catch (error) {
    if (!(error instanceof CreditsApiError && ['IDEMPOTENCY_CONFLICT', 'JOB_STATE_CONFLICT', 'FEATURE_NOT_IN_PLAN'].includes(error.code))) throw error;
    notes.push(`job "${DEMO.jobId}" not (re)started: ${error.message}`);
  }
  return { accountId: DEMO.accountId, jobId: DEMO.jobId, accountCreated, jobCreated, notes };
}
