/**
 * What an operator (customer success, finance) does to an account through the HTTP API:
 * adjustments that add or remove credits, refunds of charges, contract terms on top of the plan
 * (its own allowance and extra features, from the next period or now), and account settings.
 * Every answer is checked the way a product would check it: exact credits, the balance, the
 * grants, the ledger entries, and a clean audit.
 */
import { describe, expect, it } from 'vitest';
import { useApiStack } from './support/api-stack.js';
import { errorCode, http, type HttpAnswer } from './support/http.js';
import { eventually } from './support/temporal.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const stackOf = useApiStack();
const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stackOf().api.url, method, path, options);
const operator = { operator: 'jane@support', reason: 'service outage on 2026-11-28' };

interface GrantView {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  available: number;
  status: string;
  effectiveAt: string;
  expiresAt: string | null;
  features: string[] | null;
}
interface AccountBody {
  status: string;
  seats: number;
  period: { start: string; end: string } | null;
  balance: { available: number; held: number; bySource: Record<string, number> };
  grants: GrantView[];
}
interface LedgerEntry {
  entryId: number;
  operationId: string | null;
  grantId: string;
  kind: string;
  amount: number;
}

async function createAccount(accountId: string, planId: string, seats = 1): Promise<AccountBody> {
  const answer = await call('POST', '/v1/accounts', { json: { accountId, planId, seats, users: [{ userId: 'admin', role: 'admin' }] } });
  expect(answer.status).toBe(201);
  return answer.body as AccountBody;
}

async function account(accountId: string): Promise<AccountBody> {
  const answer = await call('GET', `/v1/accounts/${accountId}`);
  expect(answer.status).toBe(200);
  return answer.body as AccountBody;
}

const available = async (accountId: string) => (await account(accountId)).balance.available;

async function entries(accountId: string): Promise<LedgerEntry[]> {
  const answer = await call('GET', `/v1/accounts/${accountId}/ledger?limit=1000`);
  expect(answer.status).toBe(200);
  return (answer.body as { entries: LedgerEntry[] }).entries;
}

const charge = (accountId: string, feature: string, quantity: number, idempotencyKey: string) =>
  call('POST', `/v1/accounts/${accountId}/charges`, { json: { feature, quantity, userId: 'admin', idempotencyKey } });
const adjust = (accountId: string, json: Record<string, unknown>) => call('POST', `/v1/accounts/${accountId}/adjustments`, { json });
const refund = (accountId: string, chargeId: string, json: Record<string, unknown>) => call('POST', `/v1/accounts/${accountId}/charges/${chargeId}/refunds`, { json });
const setContract = (accountId: string, json: Record<string, unknown>) => call('PUT', `/v1/accounts/${accountId}/contract`, { json });
const getContract = async (accountId: string) => {
  const answer = await call('GET', `/v1/accounts/${accountId}/contract`);
  expect(answer.status).toBe(200);
  return answer.body;
};

/** Status and error code together, so a failure shows both. */
const outcome = (answer: HttpAnswer) => [answer.status, errorCode(answer)];
const replayed = (answer: HttpAnswer) => answer.headers.get('idempotent-replayed');

const pendingAllowances = (view: AccountBody) => view.grants.filter((grant) => grant.source === 'allowance' && grant.status === 'pending');
const sum = (grants: readonly GrantView[]) => grants.reduce((total, grant) => total + grant.amount, 0);

async function auditClean(accountId: string): Promise<void> {
  expect((await stackOf().ledger.audit({ accountId })).problems).toEqual([]);
}

describe('adjustments', () => {
  it('adds promo credits, replays the answer, removes part of them, refuses removing more than is left, and requires attribution', async () => {
    const id = 'op-adjust';
    await createAccount(id, 'sales-email-pro');
    expect(await available(id)).toBe(1000);

    const add = { action: 'add', source: 'promo', credits: 50, ...operator, idempotencyKey: 'promo-1' };
    const added = await adjust(id, add);
    expect(added.status).toBe(201);
    expect(replayed(added)).toBe('false');
    const grantId = (added.body as { grant: { grantId: string } }).grant.grantId;
    expect(added.body).toEqual({
      adjustmentId: expect.any(String) as string,
      action: 'add',
      credits: 50,
      grant: { grantId, source: 'promo', amount: 50, remaining: 50, effectiveAt: expect.any(String) as string, expiresAt: null },
      balance: { available: 1050 },
    });
    const afterAdd = await account(id);
    expect(afterAdd.balance.available).toBe(1050);
    expect(afterAdd.balance.bySource.promo).toBe(50);
    expect(afterAdd.grants.find((grant) => grant.id === grantId)).toMatchObject({ source: 'promo', amount: 50, remaining: 50, available: 50, status: 'active', expiresAt: null, features: null });

    const again = await adjust(id, add);
    expect(again.status).toBe(201);
    expect(replayed(again)).toBe('true');
    expect(again.body).toEqual(added.body);
    expect(await available(id)).toBe(1050);
    // The same key for another request is a conflict, not a second grant.
    expect(outcome(await adjust(id, { ...add, credits: 60 }))).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
    expect(await available(id)).toBe(1050);

    const removed = await adjust(id, { action: 'remove', grantId, credits: 20, ...operator, idempotencyKey: 'remove-1' });
    expect(removed.status).toBe(201);
    expect(removed.body).toMatchObject({ action: 'remove', credits: 20, grant: { grantId, source: 'promo', amount: 50, remaining: 30 }, balance: { available: 1030 } });
    expect(await available(id)).toBe(1030);

    const tooMuch = await adjust(id, { action: 'remove', grantId, credits: 31, ...operator, idempotencyKey: 'remove-2' });
    expect(outcome(tooMuch)).toEqual([409, 'REMOVAL_EXCEEDS_GRANT']);
    expect((tooMuch.body as { error: { details: unknown } }).error.details).toMatchObject({ grantId, removable: 30, held: 0 });
    const afterRefusal = await account(id);
    expect(afterRefusal.balance.available).toBe(1030);
    expect(afterRefusal.grants.find((grant) => grant.id === grantId)).toMatchObject({ amount: 50, remaining: 30 });

    const noOperator = await adjust(id, { action: 'add', source: 'promo', credits: 5, reason: 'goodwill', idempotencyKey: 'no-operator' });
    expect(outcome(noOperator)).toEqual([422, 'VALIDATION_FAILED']);
    const noReason = await adjust(id, { action: 'add', source: 'promo', credits: 5, operator: 'jane@support', idempotencyKey: 'no-reason' });
    expect(outcome(noReason)).toEqual([422, 'VALIDATION_FAILED']);
    const noRemovalReason = await adjust(id, { action: 'remove', grantId, credits: 1, operator: 'jane@support', idempotencyKey: 'no-reason-2' });
    expect(outcome(noRemovalReason)).toEqual([422, 'VALIDATION_FAILED']);
    expect(await available(id)).toBe(1030);

    const adjustEntries = (await entries(id)).filter((entry) => entry.kind === 'adjust');
    expect(adjustEntries.map((entry) => [entry.grantId, entry.amount])).toEqual([[grantId, -20]]);
    await auditClean(id);
  });
});

describe('refunds', () => {
  it('refunds a charge in parts and in full, never more than it was, replays the answer, and shows refunds in usage and the ledger', async () => {
    const id = 'op-refund';
    const opened = await createAccount(id, 'sales-email-pro');
    const allowanceGrant = opened.grants.find((grant) => grant.source === 'allowance' && grant.status === 'active')?.id;
    expect(allowanceGrant).toEqual(expect.any(String));

    const first = await charge(id, 'ai.variable', 10, 'charge-1');
    expect(first.status).toBe(201);
    const chargeId = (first.body as { chargeId: string }).chargeId;
    expect(first.body).toMatchObject({ credits: 10, balance: { available: 990 } });

    const part = await refund(id, chargeId, { credits: 4, ...operator, idempotencyKey: 'refund-1' });
    expect(part.status).toBe(201);
    expect(replayed(part)).toBe('false');
    expect(part.body).toEqual({
      refundId: expect.any(String) as string,
      chargeId,
      credits: 4,
      returned: 4,
      expired: 0,
      grants: [{ grantId: allowanceGrant, credits: 4, returned: true }],
      charge: { credits: 10, refunded: 4, refundable: 6 },
      balance: { available: 994 },
    });
    expect(await available(id)).toBe(994);

    const rest = await refund(id, chargeId, { credits: 6, ...operator, idempotencyKey: 'refund-2' });
    expect(rest.status).toBe(201);
    expect(rest.body).toMatchObject({ credits: 6, returned: 6, expired: 0, charge: { credits: 10, refunded: 10, refundable: 0 }, balance: { available: 1000 } });

    const oneMore = await refund(id, chargeId, { credits: 1, ...operator, idempotencyKey: 'refund-3' });
    expect(outcome(oneMore)).toEqual([409, 'REFUND_EXCEEDS_CHARGE']);
    expect((oneMore.body as { error: { details: unknown } }).error.details).toMatchObject({ chargeId, charged: 10, refunded: 10, refundable: 0 });
    const nothingLeft = await refund(id, chargeId, { ...operator, idempotencyKey: 'refund-4' });
    expect(outcome(nothingLeft)).toEqual([409, 'REFUND_EXCEEDS_CHARGE']);
    expect(await available(id)).toBe(1000);

    const second = await charge(id, 'ai.variable', 3, 'charge-2');
    expect(second.body).toMatchObject({ credits: 3, balance: { available: 997 } });
    const secondId = (second.body as { chargeId: string }).chargeId;
    const full = await refund(id, secondId, { ...operator, idempotencyKey: 'refund-full' });
    expect(full.status).toBe(201);
    expect(full.body).toMatchObject({ chargeId: secondId, credits: 3, returned: 3, expired: 0, charge: { credits: 3, refunded: 3, refundable: 0 }, balance: { available: 1000 } });

    const replay = await refund(id, chargeId, { credits: 4, ...operator, idempotencyKey: 'refund-1' });
    expect(replay.status).toBe(201);
    expect(replayed(replay)).toBe('true');
    expect(replay.body).toEqual(part.body);
    expect(await available(id)).toBe(1000);

    expect(outcome(await refund(id, '999999999', { ...operator, idempotencyKey: 'refund-unknown' }))).toEqual([404, 'UNKNOWN_CHARGE']);
    // A charge of another account is unknown on this one.
    await createAccount('op-refund-other', 'sales-email-pro');
    expect(outcome(await refund('op-refund-other', chargeId, { ...operator, idempotencyKey: 'refund-elsewhere' }))).toEqual([404, 'UNKNOWN_CHARGE']);
    expect(outcome(await refund(id, chargeId, { credits: 1, operator: 'jane@support', idempotencyKey: 'refund-no-reason' }))).toEqual([422, 'VALIDATION_FAILED']);

    const from = new Date(Date.now() - DAY_MS).toISOString();
    const to = new Date(Date.now() + DAY_MS).toISOString();
    const usage = await call('GET', `/v1/accounts/${id}/usage?from=${from}&to=${to}&groupBy=feature`);
    expect(usage.status).toBe(200);
    expect((usage.body as { rows: unknown[] }).rows).toEqual([{ key: 'ai.variable', credits: 13, refunded: 13, quantity: 13, charges: 2 }]);

    const refundEntries = (await entries(id)).filter((entry) => entry.kind === 'refund');
    expect(refundEntries.map((entry) => [entry.grantId, entry.amount])).toEqual([
      [allowanceGrant, 4],
      [allowanceGrant, 6],
      [allowanceGrant, 3],
    ]);
    await auditClean(id);
    await auditClean('op-refund-other');
  });
});

describe('contract terms', () => {
  it('from the next period: scheduled, the next allowance written ahead under it, extra features still gated until then', async () => {
    const id = 'op-contract-next';
    const opened = await createAccount(id, 'sales-email-pro', 2);
    expect(opened.balance.available).toBe(2000);
    const periodEnd = opened.period?.end;
    expect(periodEnd).toEqual(expect.any(String));
    expect(sum(pendingAllowances(opened))).toBe(2000);

    const terms = { allowance: { credits: 1500, perSeat: true }, extraFeatures: ['call.minute'], effective: 'next_period', ...operator, idempotencyKey: 'contract-1' };
    const changed = await setContract(id, terms);
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ contractId: expect.any(String) as string, effective: 'next_period', effectiveAt: periodEnd, grantedNow: 0, nextAllowance: 3000 });
    const contractId = (changed.body as { contractId: string }).contractId;

    expect(await getContract(id)).toEqual({
      accountId: id,
      inForce: null,
      scheduled: { contractId, allowance: { credits: 1500, perSeat: true }, extraFeatures: ['call.minute'], effectiveFrom: periodEnd, operator: operator.operator, reason: operator.reason },
    });

    const calling = await charge(id, 'call.minute', 1, 'call-now');
    expect(outcome(calling)).toEqual([403, 'FEATURE_NOT_IN_PLAN']);

    const after = await account(id);
    expect(after.balance.available).toBe(2000);
    const pending = pendingAllowances(after);
    expect(sum(pending)).toBe(3000);
    expect(pending.map((grant) => [grant.effectiveAt, grant.expiresAt !== null, grant.features])).toEqual([[periodEnd, true, null]]);
    await auditClean(id);
  });

  it('a plan change after a contract scheduled for the next period writes that period under the contract', async () => {
    const id = 'op-contract-then-seats';
    await createAccount(id, 'sales-email-pro', 1);
    await setContract(id, { allowance: { credits: 1500, perSeat: true }, effective: 'next_period', ...operator, idempotencyKey: 'contract-then-seats' });
    const upgraded = await call('POST', `/v1/accounts/${id}/plan`, { json: { planId: 'sales-email-pro', seats: 2 } });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body).toMatchObject({ effective: 'now', seats: 2, grantedNow: 1000 });
    // Next period: the contract's 1,500 per seat for 2 seats, not the plan's 1,000 per seat.
    expect(sum(pendingAllowances(await account(id)))).toBe(3000);
    await auditClean(id);
  });

  it('from the next period on a 10-second plan: the new period has the contract allowance and the extra feature can be charged', async () => {
    const id = 'op-contract-boundary';
    const opened = await createAccount(id, 'demo-fast');
    expect(opened.balance.available).toBe(100);
    const terms = { allowance: { credits: 300 }, extraFeatures: ['ai.variable'], ...operator, idempotencyKey: 'contract-fast' };
    const changed = await setContract(id, terms);
    expect(changed.status).toBe(200);
    const { effectiveAt, contractId } = changed.body as { effectiveAt: string; contractId: string };
    expect(changed.body).toEqual({ contractId, effective: 'next_period', effectiveAt, grantedNow: 0, nextAllowance: 300 });
    // Before the boundary (checked only while it is more than a second away, so a slow machine does not race it).
    if (Date.now() < Date.parse(effectiveAt) - 1_000) {
      const before = await account(id);
      expect(before.period?.end).toBe(effectiveAt);
      expect(before.balance.available).toBe(100);
      expect(pendingAllowances(before).map((grant) => [grant.effectiveAt, grant.amount])).toEqual([[effectiveAt, 300]]);
      expect(outcome(await charge(id, 'ai.variable', 1, 'ai-before'))).toEqual([403, 'FEATURE_NOT_IN_PLAN']);
    }

    // The new period has started and the one after it is written ahead (the workflow does that as it enters the period).
    const next = await eventually(
      () => account(id),
      (view) => view.period?.start === effectiveAt && pendingAllowances(view).length > 0,
      'the contract period to start',
      30_000,
    );
    const current = next.grants.filter((grant) => grant.source === 'allowance' && grant.effectiveAt === effectiveAt);
    expect(current.map((grant) => [grant.amount, grant.expiresAt])).toEqual([[300, next.period?.end]]);
    // The period after it is written ahead under the same contract.
    expect(pendingAllowances(next).map((grant) => [grant.effectiveAt, grant.amount])).toEqual([[next.period?.end, 300]]);
    expect(await getContract(id)).toMatchObject({ inForce: { contractId, allowance: { credits: 300, perSeat: false }, extraFeatures: ['ai.variable'] }, scheduled: null });

    const charged = await charge(id, 'ai.variable', 5, 'ai-after');
    expect(charged.status).toBe(201);
    expect(charged.body).toMatchObject({ feature: 'ai.variable', credits: 5 });
    const remaining = (charged.body as { balance: { available: number } }).balance.available;
    // 300 less 5, unless the next boundary came in between (then a fresh 300 and the 5 spent on the old period's).
    expect([295, 300]).toContain(remaining);
    await auditClean(id);
  });

  it('effective now with a bigger allowance: grants the difference now, rewrites the next period, and a replay changes nothing', async () => {
    const id = 'op-contract-now';
    const opened = await createAccount(id, 'sales-email-pro', 2);
    expect(opened.balance.available).toBe(2000);
    const spent = await charge(id, 'ai.variable', 7, 'spend-first');
    expect(spent.body).toMatchObject({ balance: { available: 1993 } });

    const terms = { allowance: { credits: 1500, perSeat: true }, extraFeatures: ['call.minute'], effective: 'now', ...operator, idempotencyKey: 'contract-now' };
    const startedAt = Date.now();
    const changed = await setContract(id, terms);
    expect(changed.status).toBe(200);
    expect(replayed(changed)).toBe('false');
    const { contractId, effectiveAt } = changed.body as { contractId: string; effectiveAt: string };
    expect(changed.body).toEqual({ contractId, effective: 'now', effectiveAt, grantedNow: 1000, nextAllowance: 3000 });
    expect(Math.abs(Date.parse(effectiveAt) - startedAt)).toBeLessThan(60_000);

    const after = await account(id);
    expect(after.balance.available).toBe(2993);
    const upgrade = after.grants.filter((grant) => grant.source === 'allowance' && grant.status === 'active' && grant.amount === 1000);
    expect(upgrade.map((grant) => [grant.remaining, grant.expiresAt])).toEqual([[1000, opened.period?.end]]);
    const pending = pendingAllowances(after);
    expect(pending.map((grant) => [grant.effectiveAt, grant.amount])).toEqual([[opened.period?.end, 3000]]);
    expect(await getContract(id)).toEqual({
      accountId: id,
      inForce: { contractId, allowance: { credits: 1500, perSeat: true }, extraFeatures: ['call.minute'], effectiveFrom: effectiveAt, operator: operator.operator, reason: operator.reason },
      scheduled: null,
    });
    // In force now: the extra feature can be charged.
    const calling = await charge(id, 'call.minute', 2, 'call-now');
    expect(calling.status).toBe(201);
    expect(calling.body).toMatchObject({ feature: 'call.minute', credits: 8, balance: { available: 2985 } });

    const beforeReplay = await account(id);
    expect(beforeReplay.balance.available).toBe(2985);
    const again = await setContract(id, terms);
    expect(again.status).toBe(200);
    expect(replayed(again)).toBe('true');
    // Like every other idempotent call, a replay should answer what the first call answered.
    expect(again.body, 'a replayed PUT /contract answers the first response').toEqual(changed.body);
    expect(again.body).toMatchObject({ contractId, effective: 'now', effectiveAt, nextAllowance: 3000 });
    const afterReplay = await account(id);
    expect(afterReplay.balance).toEqual(beforeReplay.balance);
    expect(afterReplay.grants).toEqual(beforeReplay.grants);
    expect(pendingAllowances(afterReplay).map((grant) => [grant.id, grant.amount])).toEqual(pending.map((grant) => [grant.id, grant.amount]));
    expect(await getContract(id)).toMatchObject({ inForce: { contractId }, scheduled: null });
    await auditClean(id);
  });
});

describe('account settings', () => {
  it('sets the balance.low threshold, reads it back, and clears it with null', async () => {
    const id = 'op-settings';
    await createAccount(id, 'sales-email-pro');
    const patch = (json: Record<string, unknown>) => call('PATCH', `/v1/accounts/${id}`, { json });

    const set = await patch({ lowBalanceCredits: 5 });
    expect([set.status, set.body]).toEqual([200, { accountId: id, unknownUsers: 'refuse', lowBalanceCredits: 5 }]);
    // Fields left out keep their value: an empty PATCH reads the settings back.
    expect((await patch({})).body).toEqual({ accountId: id, unknownUsers: 'refuse', lowBalanceCredits: 5 });
    expect((await stackOf().client.updateSettings(id, { unknownUsers: 'register' })).lowBalanceCredits).toBe(5);

    const cleared = await patch({ lowBalanceCredits: null });
    expect([cleared.status, cleared.body]).toEqual([200, { accountId: id, unknownUsers: 'register', lowBalanceCredits: null }]);
    expect((await patch({})).body).toEqual({ accountId: id, unknownUsers: 'register', lowBalanceCredits: null });
    expect(outcome(await patch({ lowBalanceCredits: 'five' }))).toEqual([422, 'VALIDATION_FAILED']);
    expect(outcome(await call('PATCH', '/v1/accounts/op-nobody', { json: { lowBalanceCredits: 5 } }))).toEqual([404, 'UNKNOWN_ACCOUNT']);
  });
});
