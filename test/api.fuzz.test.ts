import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApiStack } from './support/api-stack.js';
import { http, type HttpAnswer } from './support/http.js';

/**
 * Property: whatever malformed body, parameter or query a caller sends, the answer is a 4xx JSON
 * error that names what is wrong, never a 500, and nothing changes in the ledger.
 */

const stackOf = useApiStack();
let jobId: string;

beforeAll(async () => {
  await stackOf().client.createAccount({ accountId: 'target', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }] });
  jobId = (await stackOf().client.createJob('target', { feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'fuzz-job', records: [{ recordId: 'r1' }] })).jobId;
});

/** Counts of everything a request could have written. */
async function footprint(): Promise<Record<string, number>> {
  const { rows } = await stackOf().pool.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM ledger_entries)::int AS entries, (SELECT count(*) FROM operations)::int AS operations,
            (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM account_users)::int AS users,
            (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_records)::int AS records,
            (SELECT count(*) FROM domain_events)::int AS events`,
  );
  return rows[0] ?? {};
}

function expectRefusal(answer: HttpAnswer, what: string): void {
  const body = answer.body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | string;
  const summary = `${what} → ${answer.status} ${JSON.stringify(body).slice(0, 300)}`;
  expect(answer.status >= 400 && answer.status < 500, summary).toBe(true);
  expect(typeof body === 'object' && typeof body.error?.code === 'string' && typeof body.error.message === 'string', summary).toBe(true);
}

const VALID_BODIES: Record<string, { method: string; path: () => string; body: Record<string, unknown> }> = {
  charge: { method: 'POST', path: () => '/v1/accounts/target/charges', body: { feature: 'ai.variable', quantity: 1, userId: 'admin', idempotencyKey: 'k' } },
  estimate: { method: 'POST', path: () => '/v1/accounts/target/estimates', body: { feature: 'ai.variable', quantity: 1 } },
  topUp: { method: 'POST', path: () => '/v1/accounts/target/top-ups', body: { credits: 10, userId: 'admin', idempotencyKey: 'k' } },
  account: { method: 'POST', path: () => '/v1/accounts', body: { accountId: 'fresh', planId: 'sales-email-pro', seats: 1 } },
  plan: { method: 'POST', path: () => '/v1/accounts/target/plan', body: { planId: 'sales-email-pro', seats: 2 } },
  user: { method: 'PUT', path: () => '/v1/accounts/target/users/someone', body: { role: 'member', creditsAllowed: true } },
  job: { method: 'POST', path: () => '/v1/accounts/target/jobs', body: { feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'k', records: [] } },
  records: { method: 'POST', path: () => `/v1/jobs/${jobId}/records`, body: { recordId: 'r2' } },
};
const routes = fc.constantFrom(...Object.keys(VALID_BODIES));

/** JSON number texts that are never a credit amount or a count: negative, too fine, too large, or not finite once parsed. */
const badNumberText = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }).map(String),
  fc.constantFrom('0', '-0', '1e400', '-1e400', '1e30', '0.0000001', '1.0000001', '12.3456789', '1000000001', '9007199254740993'),
  fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 9 })).map(([whole, digit]) => `${whole}.000000${digit}${digit}`),
);

const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A body that is invalid by construction: nothing in it may be accepted. */
const malformedBody = fc.oneof(
  // Not JSON at all.
  fc.string({ maxLength: 200 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
  // JSON, but not the object the route wants.
  fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.string(), fc.array(anyJson, { maxLength: 4 })).map((value) => JSON.stringify(value)),
  // The right object with an unknown field added, and its fields replaced by arbitrary values.
  fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), anyJson, fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 3 })).map(([key, value, replacements]) => ({
    key: `x-${key}`,
    value,
    replacements,
  })),
  // The right object with one numeric field written as a number no route accepts.
  badNumberText.map((text) => ({ badNumber: text })),
);

function bodyText(route: string, body: string | { key: string; value: unknown; replacements: Record<string, unknown> } | { badNumber: string }): string {
  const valid = VALID_BODIES[route]?.body ?? {};
  if (typeof body === 'string') return route === 'records' && body.startsWith('[') && body !== '[]' ? `${body.slice(0, -1)},{}]` : body;
  if ('badNumber' in body) {
    const numeric = Object.keys(valid).find((key) => typeof valid[key] === 'number') ?? 'quantity';
    const text = JSON.stringify({ ...valid, [numeric]: '__NUMBER__' }).replace('"__NUMBER__"', body.badNumber);
    return route === 'records' ? `[${text}]` : text;
  }
  const object = { ...valid, ...body.replacements, [body.key]: body.value };
  return route === 'records' ? JSON.stringify([object]) : JSON.stringify(object);
}

const badIdentifier = fc.oneof(
  fc.string({ minLength: 129, maxLength: 200 }),
  fc.string({ maxLength: 40 }).filter((text) => !/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/.test(text)),
);

const badPageNumber = fc.oneof(
  fc.integer({ min: -1_000, max: 0 }).map(String),
  fc.integer({ min: 1_001, max: 10_000_000 }).map(String),
  fc.constantFrom('abc', '1.5', 'NaN', 'Infinity', '1e400', '-', '0x10', '[]'),
);

describe('malformed input over HTTP', () => {
  it('answers thousands of malformed bodies with 4xx JSON errors and changes nothing', async () => {
    const before = await footprint();
    await fc.assert(
      fc.asyncProperty(routes, malformedBody, fc.boolean(), async (route, body, ndjson) => {
        const target = VALID_BODIES[route];
        if (!target) throw new Error(`no route ${route}`);
        const text = bodyText(route, body);
        const asStream = route === 'records' && ndjson;
        const answer = await http(stackOf().api.url, target.method, target.path(), {
          body: asStream ? text.replace(/^\[|\]$/g, '') : text,
          contentType: asStream ? 'application/x-ndjson' : 'application/json',
        });
        expectRefusal(answer, `${target.method} ${target.path()} ${text.slice(0, 200)}`);
      }),
      { numRuns: 2_500, seed: 20261121 },
    );
    const after = await footprint();
    expect(after).toEqual(before);
    expect((await stackOf().ledger.audit()).problems).toEqual([]);
  }, 300_000);

  it('answers malformed path parameters and queries with 4xx JSON errors', async () => {
    const before = await footprint();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badIdentifier.map((id) => ({ method: 'GET', path: `/v1/accounts/${encodeURIComponent(id)}` })),
          badIdentifier.map((id) => ({ method: 'POST', path: `/v1/accounts/${encodeURIComponent(id)}/cancel` })),
          badIdentifier.map((id) => ({ method: 'GET', path: `/v1/jobs/${encodeURIComponent(id)}` })),
          badPageNumber.map((limit) => ({ method: 'GET', path: `/v1/accounts/target/ledger?limit=${encodeURIComponent(limit)}` })),
          badPageNumber.map((after) => ({ method: 'GET', path: `/v1/events?limit=${encodeURIComponent(after)}` })),
          badPageNumber.map((limit) => ({ method: 'GET', path: `/v1/jobs/${jobId}/results?limit=${encodeURIComponent(limit)}` })),
          fc.string({ maxLength: 30 }).map((from) => ({ method: 'GET', path: `/v1/accounts/target/usage?from=${encodeURIComponent(from)}&to=2030-01-01T00:00:00Z` })),
          fc.string({ minLength: 1, maxLength: 10 }).map((key) => ({ method: 'GET', path: `/v1/accounts/target/ledger?x${encodeURIComponent(key)}=1` })),
          fc.constantFrom('day', 'week', '', 'FEATURE').map((by) => ({ method: 'GET', path: `/v1/accounts/target/usage?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z&groupBy=${by}` })),
        ),
        async ({ method, path }) => {
          expectRefusal(await http(stackOf().api.url, method, path), `${method} ${path}`);
        },
      ),
      { numRuns: 1_000, seed: 20261121 },
    );
    expect(await footprint()).toEqual(before);
  }, 300_000);
});
