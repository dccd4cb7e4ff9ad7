/**
 * Users are known: a spend by a user the account has not registered is refused (404 UNKNOWN_USER,
 * nothing charged) unless the account chose, at creation or later, to register users on first
 * spend. The users, their roles and whether they may spend are listed.
 */
import { describe, expect, it } from 'vitest';
import { useApiStack } from './support/api-stack.js';
import { errorCode, http } from './support/http.js';
import { records } from './support/jobs.js';

const stackOf = useApiStack();
const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stackOf().api.url, method, path, options);
const charge = (accountId: string, userId: string, idempotencyKey: string) =>
  call('POST', `/v1/accounts/${accountId}/charges`, { json: { feature: 'ai.variable', quantity: 2, userId, idempotencyKey } });
const available = async (accountId: string) => (await stackOf().client.getAccount(accountId)).balance.available;

describe('users of an account', () => {
  it('refuses a spend by an unregistered user by default, and charges nothing', async () => {
    await stackOf().client.createAccount({ accountId: 'strict', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }, { userId: 'sdr', role: 'member', creditsAllowed: false }] });
    const typo = await charge('strict', 'amdin', 'typo-1');
    expect([typo.status, errorCode(typo)]).toEqual([404, 'UNKNOWN_USER']);
    expect(JSON.stringify(typo.body)).toContain('amdin');
    const estimate = await call('POST', '/v1/accounts/strict/estimates', { json: { feature: 'ai.variable', quantity: 2, userId: 'amdin' } });
    expect([estimate.status, errorCode(estimate)]).toEqual([404, 'UNKNOWN_USER']);
    const job = await call('POST', '/v1/accounts/strict/jobs', { json: { feature: 'lead.email-finder', userId: 'amdin', idempotencyKey: 'typo-job', records: records('typo', 3) } });
    expect([job.status, errorCode(job)]).toEqual([404, 'UNKNOWN_USER']);
    expect(await available('strict')).toBe(1000);
    expect((await stackOf().client.ledger('strict')).entries.filter((entry) => entry.kind === 'charge')).toEqual([]);

    expect(await stackOf().client.listUsers('strict')).toEqual({
      accountId: 'strict',
      unknownUsers: 'refuse',
      users: [
        { userId: 'admin', role: 'admin', creditsAllowed: true, updatedAt: expect.any(String) as string },
        { userId: 'sdr', role: 'member', creditsAllowed: false, updatedAt: expect.any(String) as string },
      ],
    });
  });

  it('registers users on first spend once the account chooses so, later or at creation', async () => {
    await stackOf().client.createAccount({ accountId: 'open-later', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }] });
    expect((await charge('open-later', 'newbie', 'n-1')).status).toBe(404);
    expect(await stackOf().client.updateSettings('open-later', { unknownUsers: 'register' })).toEqual({ accountId: 'open-later', unknownUsers: 'register', lowBalanceCredits: null });
    expect((await charge('open-later', 'newbie', 'n-1')).status).toBe(201);
    expect(await available('open-later')).toBe(998);
    const users = await stackOf().client.listUsers('open-later');
    expect(users.users.map((user) => [user.userId, user.role, user.creditsAllowed])).toEqual([
      ['admin', 'admin', true],
      ['newbie', 'member', true],
    ]);
    // A registered user is like any other: the admin can stop them spending.
    await stackOf().client.setUser('open-later', 'newbie', { role: 'member', creditsAllowed: false });
    expect(errorCode(await charge('open-later', 'newbie', 'n-2'))).toBe('CREDITS_DISALLOWED');

    await stackOf().client.createAccount({ accountId: 'open-from-start', planId: 'sales-email-pro', unknownUsers: 'register' });
    expect((await charge('open-from-start', 'anyone', 'a-1')).status).toBe(201);
    expect((await stackOf().client.listUsers('open-from-start')).unknownUsers).toBe('register');
  });
});
