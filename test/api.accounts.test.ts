import { request } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startApiServer } from '../src/api/server.js';
import { createApiDeps } from '../src/api/deps.js';
import { createCreditsClient } from '../src/client/client.js';
import { freePort } from '../src/devstack/postgres.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { errorCode, http, refusal } from './support/http.js';

const stackOf = useApiStack();
const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(stackOf().api.url, method, path, options);

/** A POST whose body is sent in chunks without a Content-Length; answers what the server said, even if it stopped reading early. */
function chunkedPost(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own: one the server closed after a 413 is not reused.
    const req = request(url, { method: 'POST', agent: false, headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // The server may close the connection once it has answered 413: the answer is what counts.
    req.on('error', (error) => {
      if (!req.writableFinished) return;
      reject(error);
    });
    const bytes = Buffer.from(body);
    for (let offset = 0; offset < bytes.length; offset += 64 * 1024) req.write(bytes.subarray(offset, offset + 64 * 1024));
    req.end();
  });
}

const DAY_MS = 86_400_000;

describe('accounts over HTTP', () => {
  it('creates an account with its first period, allowance and trial, and repeats idempotently', async () => {
    const created = await call('POST', '/v1/accounts', {
      json: { accountId: 'acme', planId: 'sales-email-pro', seats: 2, trial: true, users: [{ userId: 'alice', role: 'admin' }, { userId: 'bob', role: 'member' }] },
    });
    expect(created.status).toBe(201);
    const account = await stackOf().client.getAccount('acme');
    expect(account).toMatchObject({ accountId: 'acme', planId: 'sales-email-pro', seats: 2, timeZone: 'UTC', status: 'active' });
    expect(account.period).not.toBeNull();
    const period = account.period ?? { start: '', end: '', daysLeft: -1 };
    expect(Date.parse(period.start)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(period.end)).toBeGreaterThan(Date.now());
    expect(period.daysLeft).toBe(Math.ceil((Date.parse(period.end) - Date.now()) / DAY_MS));
    // 1000 per seat × 2 seats, plus the one-time 500-credit trial.
    expect(account.balance).toEqual({ available: 2500, held: 0, bySource: { allowance: 2000, trial: 500, purchase: 0, promo: 0, adjustment: 0 } });
    const current = account.grants.filter((grant) => grant.status === 'active');
    expect(current.map((grant) => [grant.source, grant.amount, grant.remaining, grant.held, grant.expiresAt])).toEqual(
      expect.arrayContaining([
        ['allowance', 2000, 2000, 0, period.end],
        ['trial', 500, 500, 0, period.end],
      ]),
    );
    // The next period's allowance is already written, effective at the boundary.
    expect(account.grants.find((grant) => grant.status === 'pending')).toMatchObject({ source: 'allowance', amount: 2000, effectiveAt: period.end });

    const again = await call('POST', '/v1/accounts', {
      json: { accountId: 'acme', planId: 'sales-email-pro', seats: 2, trial: true, users: [{ userId: 'alice', role: 'admin' }, { userId: 'bob', role: 'member' }] },
    });
    expect(again.status).toBe(200);
    expect((again.body as { balance: unknown }).balance).toEqual(account.balance);

    const conflicting = await call('POST', '/v1/accounts', { json: { accountId: 'acme', planId: 'sales-email-pro', seats: 3 } });
    expect([conflicting.status, errorCode(conflicting)]).toEqual([409, 'ACCOUNT_EXISTS']);
    const unknownPlan = await call('POST', '/v1/accounts', { json: { accountId: 'nobody', planId: 'platinum' } });
    expect([unknownPlan.status, errorCode(unknownPlan)]).toEqual([404, 'UNKNOWN_PLAN']);
    const unknown = await refusal(stackOf().client.getAccount('nobody'));
    expect([unknown.status, unknown.code]).toEqual([404, 'UNKNOWN_ACCOUNT']);
  });

  it('finds accounts by the start of their id, in id order, a page at a time; _ and % are taken literally', async () => {
    const { client } = stackOf();
    for (const accountId of ['find_me-2', 'find_me-1', 'findXme-3']) await client.createAccount({ accountId, planId: 'sales-email-pro' });
    const found = await client.listAccounts({ prefix: 'find_me' });
    expect(found).toEqual({ accounts: [expect.objectContaining({ accountId: 'find_me-1', planId: 'sales-email-pro', timeZone: 'UTC' }), expect.objectContaining({ accountId: 'find_me-2' })], nextAfter: null });
    expect((await client.listAccounts({ prefix: 'find%' })).accounts).toEqual([]);
    const first = await client.listAccounts({ prefix: 'find', limit: 2 });
    expect(first.accounts.map((account) => account.accountId)).toHaveLength(2);
    if (first.nextAfter === null) throw new Error('expected a second page');
    const rest = await client.listAccounts({ prefix: 'find', after: first.nextAfter, limit: 100 });
    expect([...first.accounts, ...rest.accounts].map((account) => account.accountId)).toEqual((await client.listAccounts({ prefix: 'find' })).accounts.map((account) => account.accountId));
    expect(rest.accounts.length + first.accounts.length).toBe(3);
    expect(rest.nextAfter).toBeNull();
  });

  it('charges exactly, replays a repeated request with the first answer, and refuses a reused key', async () => {
    const first = await call('POST', '/v1/accounts/acme/charges', { json: { feature: 'ai.variable', quantity: 3, userId: 'alice', idempotencyKey: 'charge-1' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ feature: 'ai.variable', credits: 3, billableQuantity: 3, freeQuantity: 0, balance: { available: 2497 } });
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    await stackOf().client.charge('acme', { feature: 'ai.variable', userId: 'bob', idempotencyKey: 'charge-2' });

    const replay = await call('POST', '/v1/accounts/acme/charges', { json: { feature: 'ai.variable', quantity: 3, userId: 'alice', idempotencyKey: 'charge-1' } });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await stackOf().client.getAccount('acme')).balance.available).toBe(2496);

    const reused = await call('POST', '/v1/accounts/acme/charges', { json: { feature: 'ai.variable', quantity: 4, userId: 'alice', idempotencyKey: 'charge-1' } });
    expect([reused.status, errorCode(reused)]).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
  });

  it('answers each refused charge with its status, code and details, and charges nothing', async () => {
    const before = (await stackOf().client.getAccount('acme')).balance.available;
    const tooMuch = await refusal(stackOf().client.charge('acme', { feature: 'ai.variable', quantity: 5000, userId: 'alice', idempotencyKey: 'big' }));
    expect([tooMuch.status, tooMuch.code, tooMuch.details]).toEqual([402, 'INSUFFICIENT_CREDITS', { feature: 'ai.variable', needed: 5000, available: before }]);
    const gated = await refusal(stackOf().client.charge('acme', { feature: 'call.minute', userId: 'alice', idempotencyKey: 'gated' }));
    expect([gated.status, gated.code]).toEqual([403, 'FEATURE_NOT_IN_PLAN']);
    const unknownFeature = await refusal(stackOf().client.charge('acme', { feature: 'teleport', userId: 'alice', idempotencyKey: 'unknown' }));
    expect([unknownFeature.status, unknownFeature.code]).toEqual([404, 'UNKNOWN_FEATURE']);
    const unknownAccount = await refusal(stackOf().client.charge('nobody', { feature: 'ai.variable', userId: 'alice', idempotencyKey: 'x' }));
    expect([unknownAccount.status, unknownAccount.code]).toEqual([404, 'UNKNOWN_ACCOUNT']);

    await expect(stackOf().client.setUser('acme', 'bob', { role: 'member', creditsAllowed: false })).resolves.toEqual({
      accountId: 'acme',
      userId: 'bob',
      role: 'member',
      creditsAllowed: false,
    });
    const disallowed = await refusal(stackOf().client.charge('acme', { feature: 'ai.variable', userId: 'bob', idempotencyKey: 'bob-1' }));
    expect([disallowed.status, disallowed.code]).toEqual([403, 'CREDITS_DISALLOWED']);
    await stackOf().client.setUser('acme', 'bob', { role: 'member', creditsAllowed: true });
    expect((await stackOf().client.getAccount('acme')).balance.available).toBe(before);
  });

  it('estimates the most an action costs and whether the balance covers it', async () => {
    const available = (await stackOf().client.getAccount('acme')).balance.available;
    await expect(stackOf().client.estimate('acme', { feature: 'lead.phone-finder', quantity: 10 })).resolves.toEqual({
      feature: 'lead.phone-finder',
      maxCredits: 200,
      billableQuantity: 10,
      dedupedQuantity: 10,
      available,
      sufficient: true,
    });
    const large = await stackOf().client.estimate('acme', { feature: 'lead.phone-finder', quantity: 1000, userId: 'alice' });
    expect([large.maxCredits, large.sufficient]).toEqual([20_000, false]);
  });

  it('lets only an admin top up, replays top-ups by key, and shows purchases in the balance', async () => {
    const notAdmin = await refusal(stackOf().client.topUp('acme', { credits: 100, userId: 'bob', idempotencyKey: 'bob-buys' }));
    expect([notAdmin.status, notAdmin.code]).toEqual([403, 'NOT_ADMIN']);
    const before = (await stackOf().client.getAccount('acme')).balance.available;
    const bought = await stackOf().client.topUp('acme', { credits: 99.5, userId: 'alice', idempotencyKey: 'alice-buys' });
    expect(bought).toMatchObject({ credits: 99.5, expiresAt: null, balance: { available: before + 99.5 } });
    await expect(stackOf().client.topUp('acme', { credits: 99.5, userId: 'alice', idempotencyKey: 'alice-buys' })).resolves.toEqual(bought);
    const reused = await refusal(stackOf().client.topUp('acme', { credits: 10, userId: 'alice', idempotencyKey: 'alice-buys' }));
    expect(reused.code).toBe('IDEMPOTENCY_CONFLICT');
    const account = await stackOf().client.getAccount('acme');
    expect(account.balance.bySource.purchase).toBe(99.5);
    expect(account.grants.find((grant) => grant.id === bought.grantId)).toMatchObject({ source: 'purchase', amount: 99.5, priority: 100, expiresAt: null });
  });

  it('reports usage by user and feature, and pages through the ledger', async () => {
    const from = new Date(Date.now() - DAY_MS).toISOString();
    const to = new Date(Date.now() + DAY_MS).toISOString();
    const byUser = await stackOf().client.usage('acme', { from, to, groupBy: 'user' });
    expect(byUser.rows).toEqual([
      { key: 'alice', credits: 3, refunded: 0, quantity: 3, charges: 1 },
      { key: 'bob', credits: 1, refunded: 0, quantity: 1, charges: 1 },
    ]);
    const byFeature = await stackOf().client.usage('acme', { from, to });
    expect(byFeature).toMatchObject({ groupBy: 'feature', rows: [{ key: 'ai.variable', credits: 4, quantity: 4, charges: 2 }] });

    const entries = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const result = await stackOf().client.ledger('acme', { after, limit: 2 });
      entries.push(...result.entries);
      if (result.nextAfter === null) break;
      after = result.nextAfter;
    }
    const everything = await stackOf().client.ledger('acme', { limit: 1000 });
    expect(entries).toEqual(everything.entries);
    expect(everything.nextAfter).toBeNull();
    const charged = everything.entries.filter((entry) => entry.kind === 'charge').reduce((sum, entry) => sum + entry.amount, 0);
    expect(charged).toBe(-4);
  });

  it('upgrades now, schedules a downgrade for the next period, and cancels at the period end', async () => {
    const upgrade = await stackOf().client.changePlan('acme', { planId: 'sales-email-pro', seats: 3 });
    expect(upgrade).toMatchObject({ effective: 'now', planId: 'sales-email-pro', seats: 3 });
    expect(upgrade.grantedNow).toBeGreaterThan(0);
    expect(upgrade.grantedNow).toBeLessThanOrEqual(1000);
    const downgrade = await stackOf().client.changePlan('acme', { planId: 'sales-email-pro', seats: 1 });
    expect(downgrade.effective).toBe('next_period');
    const scheduled = await stackOf().client.getAccount('acme');
    expect([scheduled.seats, scheduled.nextPlan]).toEqual([3, { planId: 'sales-email-pro', seats: 1 }]);
    const sameAgain = await refusal(stackOf().client.changePlan('acme', { planId: 'sales-email-pro', seats: 1 }));
    expect([sameAgain.status, sameAgain.code]).toEqual([409, 'ACCOUNT_STATE_CONFLICT']);
    const unknownPlan = await refusal(stackOf().client.changePlan('acme', { planId: 'platinum', seats: 1 }));
    expect([unknownPlan.status, unknownPlan.code]).toEqual([404, 'UNKNOWN_PLAN']);

    const cancelled = await stackOf().client.cancelAccount('acme');
    expect(cancelled).toEqual({ status: 'cancelling', endsAt: scheduled.period?.end });
    const twice = await refusal(stackOf().client.cancelAccount('acme'));
    expect([twice.status, twice.code]).toEqual([409, 'ACCOUNT_STATE_CONFLICT']);
    const after = await stackOf().client.getAccount('acme');
    expect(after.status).toBe('cancelling');
    // Nothing is written ahead for a period that will not come; purchased credits stay.
    expect(after.grants.filter((grant) => grant.status === 'pending')).toEqual([]);
    expect(after.renewal).toMatchObject({ at: scheduled.period?.end, grants: [] });
    expect(after.balance.bySource.purchase).toBe(99.5);
    const noAccount = await refusal(stackOf().client.cancelAccount('nobody'));
    expect(noAccount.code).toBe('UNKNOWN_ACCOUNT');
  });

  it("shows the renewal: when, what the next period grants and what expires then, to the credit; the Web UI's details in the account's zone", async () => {
    const { client, env } = stackOf();
    await client.createAccount({ accountId: 'renews', planId: 'sales-multichannel-expert', timeZone: 'Europe/Paris', trial: true, users: [{ userId: 'alice', role: 'admin' }] });
    const opened = await client.getAccount('renews');
    const end = opened.period?.end ?? '';
    expect(Date.parse(end)).toBeGreaterThan(Date.now());
    // 10 calling minutes (40 credits) come out of the calls-only allowance, which is spent first.
    await client.charge('renews', { feature: 'call.minute', quantity: 10, userId: 'alice', idempotencyKey: 'calls' });
    const atEnd = await client.topUp('renews', { credits: 50, userId: 'alice', idempotencyKey: 'until-renewal', expiresAt: end });
    const earlier = new Date(Math.floor((Date.now() + Date.parse(end)) / 2)).toISOString();
    const before = await client.topUp('renews', { credits: 20, userId: 'alice', idempotencyKey: 'before-renewal', expiresAt: earlier });
    await client.topUp('renews', { credits: 10, userId: 'alice', idempotencyKey: 'kept' });

    const account = await client.getAccount('renews');
    const id = (source: string, amount: number, status: string) => account.grants.find((grant) => grant.source === source && grant.amount === amount && grant.status === status)?.id;
    const bySourceAndCredits = <T extends { source: string; credits: number }>(items: T[]) => [...items].sort((a, b) => a.source.localeCompare(b.source) || a.credits - b.credits);
    expect(account.renewal?.at).toBe(end);
    expect(bySourceAndCredits(account.renewal?.grants ?? [])).toEqual([
      { grantId: id('allowance', 400, 'pending'), source: 'allowance', credits: 400 },
      { grantId: id('allowance', 1500, 'pending'), source: 'allowance', credits: 1500 },
    ]);
    expect(bySourceAndCredits(account.renewal?.expires ?? [])).toEqual([
      { grantId: id('allowance', 400, 'active'), source: 'allowance', credits: 360, expiresAt: end },
      { grantId: id('allowance', 1500, 'active'), source: 'allowance', credits: 1500, expiresAt: end },
      { grantId: before.grantId, source: 'purchase', credits: 20, expiresAt: earlier },
      { grantId: atEnd.grantId, source: 'purchase', credits: 50, expiresAt: end },
      { grantId: id('trial', 500, 'active'), source: 'trial', credits: 500, expiresAt: end },
    ]);
    expect(account.balance.available).toBe(1500 + 360 + 500 + 50 + 20 + 10);

    // The period of a calendar month in Paris starts and ends at local midnight on the 1st.
    const { currentDetails } = await env.client.workflow.getHandle('account:renews').query(workflowMetadataQuery);
    const local = /Period 0: (\S+) → (\S+) \(Europe\/Paris\)/.exec(currentDetails ?? '');
    expect(local?.slice(1).map((instant) => Date.parse(instant))).toEqual([Date.parse(account.period?.start ?? ''), Date.parse(end)]);
    expect(local?.slice(1)).toEqual([expect.stringMatching(/-01T00:00:00\+0[12]:00$/), expect.stringMatching(/-01T00:00:00\+0[12]:00$/)]);
    expect(currentDetails).toContain(`Renews ${local?.[2] ?? ''}: what is left of this period's allowance (and a trial) expires`);
  });

  it('serves the catalog with exact prices', async () => {
    const catalog = await stackOf().client.getCatalog();
    const prices = Object.fromEntries(catalog.features.map((feature) => [feature.featureId, feature.unitPrice]));
    expect(prices).toMatchObject({ 'ai.custom-image': 0.5, 'ai.feed-field': 0.02, 'lead.email-finder': 5, 'lead.phone-finder': 20 });
    expect(catalog.plans.find((plan) => plan.planId === 'sales-email-pro')).toMatchObject({ allowances: [{ credits: 1000, perSeat: true, features: null }], trialCredits: 500 });
  });
});

describe('the HTTP surface', () => {
  it('requires a bearer token on /v1 and leaves /health, /openapi.json and /docs open', async () => {
    for (const token of [null, 'wrong-token-0123456789', '']) {
      const answer = await call('GET', '/v1/catalog', { token });
      expect([answer.status, errorCode(answer)]).toEqual([401, 'UNAUTHORIZED']);
    }
    const charge = await call('POST', '/v1/accounts/acme/charges', { token: null, json: { feature: 'ai.variable', userId: 'alice', idempotencyKey: 'no-token' } });
    expect(charge.status).toBe(401);
    expect(await call('GET', '/health', { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    const docs = await call('GET', '/docs', { token: null });
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('/openapi.json');
  });

  it('documents every route in an OpenAPI document generated from the schemas', async () => {
    const { status, body } = await call('GET', '/openapi.json', { token: null });
    expect(status).toBe(200);
    const document = body as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { securitySchemes: unknown; schemas: Record<string, { properties?: Record<string, { items?: { $ref?: string } }> }> } };
    expect(document.openapi).toBe('3.1.0');
    const routes = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'GET /v1/catalog',
        'GET /v1/accounts',
        'POST /v1/accounts',
        'GET /v1/accounts/{accountId}',
        'POST /v1/accounts/{accountId}/plan',
        'POST /v1/accounts/{accountId}/cancel',
        'PATCH /v1/accounts/{accountId}',
        'GET /v1/accounts/{accountId}/users',
        'PUT /v1/accounts/{accountId}/users/{userId}',
        'POST /v1/accounts/{accountId}/top-ups',
        'POST /v1/accounts/{accountId}/charges',
        'POST /v1/accounts/{accountId}/charges/{chargeId}/refunds',
        'POST /v1/accounts/{accountId}/adjustments',
        'GET /v1/accounts/{accountId}/contract',
        'PUT /v1/accounts/{accountId}/contract',
        'POST /v1/accounts/{accountId}/estimates',
        'GET /v1/accounts/{accountId}/usage',
        'GET /v1/accounts/{accountId}/ledger',
        'GET /v1/accounts/{accountId}/charges',
        'GET /v1/accounts/{accountId}/grants',
        'GET /v1/accounts/{accountId}/statement',
        'POST /v1/accounts/{accountId}/jobs',
        'GET /v1/accounts/{accountId}/jobs',
        'POST /v1/jobs/{jobId}/records',
        'POST /v1/jobs/{jobId}/start',
        'POST /v1/jobs/{jobId}/resume',
        'POST /v1/jobs/{jobId}/cancel',
        'GET /v1/jobs/{jobId}',
        'GET /v1/jobs/{jobId}/results',
        'GET /v1/events',
        'POST /v1/accounts/{accountId}/session-tokens',
        'POST /v1/tokens',
        'GET /v1/tokens',
        'POST /v1/tokens/{tokenId}/revoke',
      ].sort(),
    );
    expect(document.paths['/v1/accounts/{accountId}/charges']?.post?.responses).toHaveProperty('402');
    expect(document.paths['/v1/accounts/{accountId}/charges/{chargeId}/refunds']?.post?.responses).toHaveProperty('409');
    expect(document.components.securitySchemes).toHaveProperty('bearer');
    // A schema nested in another is the same named component, not a copy written inline.
    const { schemas } = document.components;
    expect(schemas.JobList?.properties?.jobs?.items?.$ref).toBe('#/components/schemas/Job');
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Job', 'Account', 'CreatedAccount', 'Charge', 'Error', 'LedgerPage', 'EventPage']));
  });

  it('gives a request id and answers unknown routes, bad JSON, wrong media types and big bodies with 4xx errors', async () => {
    const missing = await call('GET', '/v1/nothing-here');
    expect([missing.status, errorCode(missing)]).toEqual([404, 'NOT_FOUND']);
    expect(missing.headers.get('x-request-id')).toMatch(/.+/);
    const malformed = await call('POST', '/v1/accounts/acme/charges', { body: '{"feature": "ai.variable",' });
    expect([malformed.status, errorCode(malformed)]).toEqual([400, 'MALFORMED_JSON']);
    const text = await call('POST', '/v1/accounts/acme/charges', { body: 'feature=ai.variable', contentType: 'text/plain' });
    expect([text.status, errorCode(text)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const huge = await call('POST', '/v1/accounts/acme/charges', { json: { feature: 'ai.variable', userId: 'alice', idempotencyKey: 'x'.repeat(2 * 1024 * 1024) } });
    expect([huge.status, errorCode(huge)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    // Without a Content-Length (chunked), the limit is counted as the body streams in.
    const streamed = await chunkedPost(`${stackOf().api.url}/v1/accounts/acme/charges`, JSON.stringify({ feature: 'ai.variable', userId: 'alice', idempotencyKey: 'x'.repeat(2 * 1024 * 1024) }));
    expect([streamed.status, (JSON.parse(streamed.body) as { error: { code: string } }).error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const small = await chunkedPost(`${stackOf().api.url}/v1/accounts/acme/charges`, JSON.stringify({ feature: 'ai.variable' }));
    expect([small.status, (JSON.parse(small.body) as { error: { code: string } }).error.code]).toEqual([422, 'VALIDATION_FAILED']);
    // A job's records batch has a limit of its own, above the other routes' 1 MB.
    const records = Array.from({ length: 100 }, (_, index) => ({ recordId: `r${index}`, input: 'x'.repeat(16_000) }));
    const bigBatch = await call('POST', '/v1/jobs/no-such-job/records', { json: records });
    expect([bigBatch.status, errorCode(bigBatch)]).toEqual([404, 'UNKNOWN_JOB']);
    const fields = await call('POST', '/v1/accounts/acme/top-ups', { json: { credits: 1.0000001, userId: 'alice', idempotencyKey: 'k', coupon: 'FREE' } });
    expect([fields.status, errorCode(fields)]).toEqual([422, 'VALIDATION_FAILED']);
    const issues = (fields.body as { error: { details: { issues: { path: string; message: string }[] } } }).error.details.issues;
    expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(['credits']));
    expect(JSON.stringify(issues)).toContain('coupon');
  });

  it('answers 503 UNAVAILABLE when Temporal cannot be reached; a repeated request then starts the periods', async () => {
    const deadPort = await freePort();
    const client = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${deadPort}`, connectTimeout: '1s' }) });
    const { pool, catalog, ledger } = stackOf();
    const api = await startApiServer(
      createApiDeps({ pool, catalog, ledger, client, taskQueue: 'nowhere', tokens: [{ scope: 'admin', token: API_TOKEN }], logger: pino({ level: 'silent' }), callDeadlineMs: 2_000 }),
      { port: 0 },
    );
    try {
      const answer = await http(api.url, 'POST', '/v1/accounts', { json: { accountId: 'stranded', planId: 'sales-email-pro' } });
      expect([answer.status, errorCode(answer)]).toEqual([503, 'UNAVAILABLE']);
      const offline = createCreditsClient({ baseUrl: api.url, token: API_TOKEN });
      // The ledger answers on its own: the account exists without a period until its workflow runs.
      await expect(offline.getAccount('stranded')).resolves.toMatchObject({ accountId: 'stranded', period: null, balance: { available: 0 } });
    } finally {
      await api.close();
      await client.connection.close();
    }
    // Repeating the request once Temporal is reachable starts the billing periods.
    const retried = await call('POST', '/v1/accounts', { json: { accountId: 'stranded', planId: 'sales-email-pro' } });
    expect(retried.status).toBe(200);
    expect((retried.body as { period: unknown }).period).not.toBeNull();
  });
});
