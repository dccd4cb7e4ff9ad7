import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addProgress, NO_PROGRESS, type JobProgress } from '../src/contract/job-progress.js';
import { createJobStore, flushProgress, type JobStore, type RecordResult } from '../src/jobs/jobs.js';
import { isLedgerError, type LedgerErrorCode } from '../src/ledger/errors.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { FAILED_OUTCOME } from '../src/providers/provider.js';
import { credits, freshLedger } from './support/database.js';
import { records } from './support/jobs.js';

let ledger: Ledger;
let pool: pg.Pool;
let jobs: JobStore;

beforeAll(async () => {
  ({ ledger, pool } = await freshLedger());
  jobs = createJobStore({ pool, ledger });
});

afterAll(async () => {
  expect((await ledger.audit()).problems).toEqual([]);
  await pool.end();
});

const at = (iso: string) => new Date(iso);

async function expectCode(promise: Promise<unknown>, code: LedgerErrorCode): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isLedgerError(error) ? error.code : String(error)).toBe(code);
}

async function account(accountId: string, planId = 'sales-email-pro'): Promise<void> {
  await ledger.createAccount({ accountId, planId, users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member' }], now: at('2026-01-01T00:00:00Z') });
  for (const [start, end] of [['2026-01-01', '2026-02-01'], ['2026-02-01', '2026-03-01']] as const) {
    await ledger.grant({
      accountId, source: 'allowance', credits: credits(30),
      effectiveAt: at(`${start}T00:00:00Z`), expiresAt: at(`${end}T00:00:00Z`), idempotencyKey: `allowance:${start}`, now: at('2026-01-01T00:00:00Z'),
    });
  }
}

describe('job store', () => {
  it('loses an earmark on expired allowance and re-reserves from the next period; out of credits when nothing is left', async () => {
    await account('store-expiry');
    await jobs.createJob({ accountId: 'store-expiry', jobId: 'expiry-job', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k1', records: records('e', 20), now: at('2026-01-31T00:00:00Z') });
    const begun = await jobs.begin('expiry-job', at('2026-01-31T00:00:00Z'));
    expect(begun).toMatchObject({ status: 'running', credits: { reserved: credits(30), held: credits(30) } });
    const stored = await jobs.storeResults('expiry-job', [
      { seq: 1, recordId: 'e-1', outcome: 'deliverable', data: null },
      { seq: 2, recordId: 'e-2', outcome: 'risky', data: null },
      { seq: 3, recordId: 'e-3', outcome: 'not_found', data: null },
    ], at('2026-01-31T12:00:00Z'));
    expect(stored).toMatchObject({ stored: 3, verified: 2, notFound: 1, credits: credits(10), unpaid: 0 });
    // A retried flush of the same records stores and charges nothing.
    expect(await jobs.storeResults('expiry-job', [{ seq: 1, recordId: 'e-1', outcome: 'deliverable', data: null }], at('2026-01-31T12:01:00Z'))).toMatchObject({ stored: 0, credits: 0 });

    expect((await jobs.budget('expiry-job', at('2026-01-31T23:59:59Z'))).affordable).toBe(4);
    expect((await jobs.budget('expiry-job', at('2026-02-01T00:00:00Z'))).affordable).toBe(0);
    const renewed = await jobs.reserveMore('expiry-job', at('2026-02-01T00:00:00Z'), false);
    expect(renewed).toMatchObject({ added: credits(30), held: credits(30), canPay: true });
    expect((await jobs.budget('expiry-job', at('2026-02-01T00:00:00Z'))).affordable).toBe(6);

    const exhausted = await jobs.reserveMore('expiry-job', at('2026-03-01T00:00:00Z'), false);
    expect(exhausted).toMatchObject({ added: 0, canPay: false, available: 0 });
    const finished = await jobs.finish('expiry-job', 'cancelled', null, at('2026-03-01T00:00:00Z'));
    expect(finished.credits).toMatchObject({ charged: credits(10), held: 0 });
  });

  it('validates jobs when they are created and records while they are drafts', async () => {
    await account('store-rules');
    const now = at('2026-01-02T00:00:00Z');
    const input = { accountId: 'store-rules', jobId: 'rules-job', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k2', records: records('r', 3), now };
    const created = await jobs.createJob(input);
    expect(created).toMatchObject({ status: 'draft', replayed: false, progress: { total: 3, processed: 0 } });
    expect(await jobs.createJob(input)).toMatchObject({ jobId: 'rules-job', replayed: true });
    await expectCode(jobs.createJob({ ...input, records: records('r', 4) }), 'IDEMPOTENCY_CONFLICT');
    await expectCode(jobs.createJob({ ...input, idempotencyKey: 'k3', jobId: 'other', feature: 'ai.variable' }), 'VALIDATION_FAILED');
    await expectCode(jobs.createJob({ ...input, idempotencyKey: 'k4', jobId: 'other', feature: 'call.minute' }), 'VALIDATION_FAILED');
    await expectCode(jobs.createJob({ ...input, idempotencyKey: 'k5', jobId: 'other', feature: 'lead.nope' }), 'UNKNOWN_FEATURE');
    await ledger.setUser({ accountId: 'store-rules', userId: 'blocked', role: 'member', creditsAllowed: false, now });
    await expectCode(jobs.createJob({ ...input, idempotencyKey: 'k6', jobId: 'other', userId: 'blocked' }), 'CREDITS_DISALLOWED');

    expect(await jobs.appendRecords({ jobId: 'rules-job', records: [...records('r', 5), { recordId: 'r-5' }], now })).toEqual({ jobId: 'rules-job', added: 2, total: 5 });
    await jobs.begin('rules-job', now);
    await expectCode(jobs.appendRecords({ jobId: 'rules-job', records: records('late', 1), now }), 'JOB_STATE_CONFLICT');
    await expectCode(jobs.appendRecords({ jobId: 'no-such-job', records: records('x', 1), now }), 'UNKNOWN_JOB');
    await jobs.finish('rules-job', 'cancelled', null, now);

    await account('store-gated', 'ecom-pro');
    await expectCode(jobs.createJob({ ...input, accountId: 'store-gated', idempotencyKey: 'k7', jobId: 'gated' }), 'FEATURE_NOT_IN_PLAN');
  });

  it("reads a job's progress from its row in the one shape that its flushes add up to", async () => {
    await account('store-progress');
    const now = at('2026-01-03T00:00:00Z');
    await jobs.createJob({ accountId: 'store-progress', jobId: 'progress-job', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k8', records: records('p', 6), now });
    await jobs.begin('progress-job', now);
    const flushes: RecordResult[][] = [
      [{ seq: 1, recordId: 'p-1', outcome: 'deliverable', data: null }, { seq: 2, recordId: 'p-2', outcome: 'not_found', data: null }],
      [{ seq: 3, recordId: 'p-3', outcome: 'risky', data: null }, { seq: 4, recordId: 'p-4', outcome: FAILED_OUTCOME, data: null }],
    ];
    let stored: JobProgress = NO_PROGRESS;
    for (const flush of flushes) stored = addProgress(stored, flushProgress(await jobs.storeResults('progress-job', flush, now)));
    expect(stored).toEqual({ processed: 4, verified: 2, notFound: 1, failed: 1, charged: credits(10) });
    expect((await jobs.getJob('progress-job', now)).progress).toEqual({ total: 6, ...stored });
    await jobs.finish('progress-job', 'cancelled', null, now);
  });
  it("reads a batch's pending records within its range, and stores a flush the hold cannot pay for in full without its chargeable results", async () => {
    await account('store-ranges');
    const now = at('2026-01-04T00:00:00Z');
    await jobs.createJob({ accountId: 'store-ranges', jobId: 'ranges-job', feature: 'lead.email-finder', userId: 'sdr', idempotencyKey: 'k9', records: records('q', 10), now });
    // The month's 30 credits pay for 6 records at 5.
    await jobs.begin('ranges-job', now);
    expect(await jobs.lastSeq('ranges-job')).toBe(10);
    expect((await jobs.pendingRecords('ranges-job', 10, { afterSeq: 3, lastSeq: 7 })).map((record) => record.seq)).toEqual([4, 5, 6, 7]);
    expect(await jobs.budget('ranges-job', now)).toMatchObject({ affordable: 6, pending: 10, cancelRequested: false });

    const flush: RecordResult[] = [1, 2, 3, 4, 5, 6, 7].map((seq) => ({ seq, recordId: `q-${seq}`, outcome: 'deliverable', data: null }));
    flush.push({ seq: 8, recordId: 'q-8', outcome: 'not_found', data: null });
    expect(await jobs.storeResults('ranges-job', flush, now)).toMatchObject({ stored: 1, verified: 0, notFound: 1, credits: 0, unpaid: 7 });
    expect((await jobs.pendingRecords('ranges-job', 10)).map((record) => record.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10]);
    expect(await jobs.budget('ranges-job', now)).toMatchObject({ affordable: 6, pending: 9 });

    await jobs.requestCancel('ranges-job', now);
    expect((await jobs.budget('ranges-job', now)).cancelRequested).toBe(true);
    await jobs.finish('ranges-job', 'cancelled', null, now);
  });
});
