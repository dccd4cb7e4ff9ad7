/**
 * Who may call which route, checked over every route of /openapi.json with real requests: each
 * route declares the scope it needs (a route without one fails here), and admin, service and read
 * tokens and an account's session tokens are let through or refused accordingly. A session token
 * reaches its own account only, through any route; expired, altered and forged ones are refused;
 * a minted token is stored hashed and stops working once revoked.
 */
import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { access, requireAccessOnEveryRoute } from '../src/api/auth.js';
import type { ApiApp, AppEnv } from '../src/api/context.js';
import { signSessionToken } from '../src/auth/session-tokens.js';
import type { SessionTokenView } from '../src/client/client.js';
import { API_SCOPES, type ApiScope } from '../src/contract/fields.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { cliOutput, runCli } from './support/cli.js';
import { errorCode, http, type HttpAnswer } from './support/http.js';
import { eventually } from './support/temporal.js';

const READ_TOKEN = 'test-read-token-0123456789abcdef';
const OWN = 'scopes-own';
const OTHER = 'scopes-other';
const OTHER_JOB = 'scopes-other-job';

/** The API's clock: real time, moved forward by a test that needs a token to expire. */
let clockOffsetMs = 0;
const stack = useApiStack({ now: () => new Date(Date.now() + clockOffsetMs), tokens: [{ scope: 'read', token: READ_TOKEN }] });

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
}

interface Route {
  method: string;
  path: string;
  name: string;
  /** What the route declares in the document: the scope it needs, and the session role that may call it too. */
  scope: ApiScope | null;
  session: string | null;
  hasBody: boolean;
}

const isScope = (value: string | undefined): value is ApiScope => (API_SCOPES as readonly (string | undefined)[]).includes(value);

/** Every route of the OpenAPI document, with the access it declares. */
async function routeList(): Promise<Route[]> {
  const { body } = await http(stack().api.url, 'GET', '/openapi.json', { token: null });
  const paths = (body as { paths: Record<string, Record<string, Operation>> }).paths;
  return Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const declared = operation.security?.find((requirement) => 'bearer' in requirement)?.bearer?.[0];
      return {
        method: method.toUpperCase(),
        path,
        name: `${method.toUpperCase()} ${path}`,
        scope: isScope(declared) ? declared : null,
        session: operation.security?.find((requirement) => 'session' in requirement)?.session?.[0] ?? null,
        hasBody: operation.requestBody !== undefined,
      };
    }),
  );
}

/**
 * One request to a route: ids put in its path, and for a route with a body one that no route accepts
 * (an unknown field), so that whatever gets past authorisation stops at validation and changes
 * nothing. `userId` is there for the top-up's session rule, which reads it before validation.
 */
function probe(route: Route, token: string, ids: Record<string, string>): Promise<HttpAnswer> {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const id = ids[name];
    if (id === undefined) throw new Error(`${route.name}: no id for {${name}} in the test`);
    return encodeURIComponent(id);
  });
  return http(stack().api.url, route.method, path, { token, ...(route.hasBody ? { json: { userId: 'alice', probe: true } } : {}) });
}

/** `no route`: the probe missed the route it meant (the API's 404 for an unknown path), which would prove nothing. */
type Outcome = 'allowed' | 'unauthenticated' | 'forbidden' | 'no route';
function outcome(answer: HttpAnswer): Outcome {
  if (answer.status === 401) return 'unauthenticated';
  if (answer.status === 403 && errorCode(answer) === 'FORBIDDEN') return 'forbidden';
  return errorCode(answer) === 'NOT_FOUND' ? 'no route' : 'allowed';
}

/** Ids that name nothing (for API tokens: what passes authorisation then answers 404 or 422, changing nothing). */
const GHOSTS = { accountId: 'scopes-nobody', jobId: 'scopes-no-job', chargeId: '999999999', userId: 'alice', tokenId: 'tok_nobody' };

let routes: Route[];
let serviceToken: string;
let reader: SessionTokenView;
let buyer: SessionTokenView;
let otherChargeId: string;

async function openAccount(accountId: string): Promise<void> {
  const { client } = stack();
  await client.createAccount({ accountId, planId: 'sales-email-pro', seats: 1, users: [{ userId: 'alice', role: 'admin' }, { userId: 'bob', role: 'member' }] });
  await eventually(() => client.getAccount(accountId), (account) => account.status === 'active', `${accountId} open`);
}

beforeAll(async () => {
  const { client } = stack();
  await Promise.all([openAccount(OWN), openAccount(OTHER)]);
  otherChargeId = (await client.charge(OTHER, { feature: 'ai.variable', quantity: 1, userId: 'alice', idempotencyKey: 'other-charge' })).chargeId;
  await client.createJob(OTHER, { jobId: OTHER_JOB, feature: 'lead.email-finder', userId: 'alice', idempotencyKey: 'other-job', records: [{ recordId: 'r1', input: { email: 'a@example.com' } }] });
  serviceToken = (await client.createApiToken({ name: 'product backend', scope: 'service' })).token;
  reader = await client.createSessionToken(OWN);
  buyer = await client.createSessionToken(OWN, { userId: 'alice', allowTopUp: true });
  routes = await routeList();
}, 120_000);

describe('token scopes over every route', () => {
  it('every route declares the scope it needs, and the declarations keep to the policy', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.filter((route) => route.scope === null).map((route) => route.name), 'routes without a declared scope').toEqual([]);
    // read is reads only; a session token reads its account's routes and the catalog, and buys a top-up.
    expect(routes.filter((route) => route.scope === 'read' && route.method !== 'GET').map((route) => route.name)).toEqual([]);
    const sessionRoutes = routes.filter((route) => route.session !== null);
    for (const route of sessionRoutes) {
      const expected = route.method === 'GET' ? (route.path === '/v1/catalog' ? 'shared' : 'account') : 'top-up';
      expect(`${route.name}: ${route.session ?? ''}`).toBe(`${route.name}: ${expected}`);
      if (route.session !== 'shared') expect(route.path).toMatch(/^\/v1\/accounts\/\{accountId\}(\/|$)/);
    }
    expect(sessionRoutes.filter((route) => route.method !== 'GET').map((route) => route.name)).toEqual(['POST /v1/accounts/{accountId}/top-ups']);
    // Tokens are an admin's; a session token never mints one.
    const tokenRoutes = routes.filter((route) => route.path.startsWith('/v1/tokens'));
    expect(tokenRoutes).toHaveLength(3);
    expect(tokenRoutes.filter((route) => route.scope !== 'admin').map((route) => route.name)).toEqual([]);
    expect(routes.find((route) => route.path.endsWith('/session-tokens'))).toMatchObject({ scope: 'service', session: null });
  });

  it('admin, service and read tokens and session tokens are let through or refused as each route declares', async () => {
    const callers: { kind: string; token: string; ids: Record<string, string>; allowed: (route: Route) => boolean }[] = [
      { kind: 'admin', token: API_TOKEN, ids: GHOSTS, allowed: () => true },
      { kind: 'service', token: serviceToken, ids: GHOSTS, allowed: (route) => route.scope !== 'admin' },
      { kind: 'read', token: READ_TOKEN, ids: GHOSTS, allowed: (route) => route.scope === 'read' },
      // Session tokens on their own account: only the routes that list the session scheme.
      { kind: 'session', token: reader.token, ids: { ...GHOSTS, accountId: OWN }, allowed: (route) => route.session === 'account' || route.session === 'shared' },
      { kind: 'session with top-up', token: buyer.token, ids: { ...GHOSTS, accountId: OWN }, allowed: (route) => route.session !== null },
    ];
    const wrong: string[] = [];
    for (const caller of callers) {
      for (const route of routes) {
        const answer = await probe(route, caller.token, caller.ids);
        const expected: Outcome = caller.allowed(route) ? 'allowed' : 'forbidden';
        const got = outcome(answer);
        if (got !== expected) wrong.push(`${caller.kind} ${route.name}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
        // A token of too small a scope is told the scope the route needs.
        if (got === 'forbidden' && !caller.kind.startsWith('session')) {
          expect((answer.body as { error: { details: unknown } }).error.details, `${caller.kind} ${route.name}`).toEqual({ required: route.scope, scope: caller.kind });
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('an API with a /v1 route that does not declare its access through `access` refuses to start', () => {
    const app: ApiApp = new OpenAPIHono<AppEnv>();
    app.openapi(createRoute({ method: 'get', path: '/v1/undeclared', responses: { 200: { description: 'ok' } } }), (c) => c.json({}, 200));
    // A scope written by hand is no declaration: the middleware that enforces it would be missing.
    app.openapi(createRoute({ method: 'post', path: '/v1/by-hand', security: [{ bearer: ['admin'] }], responses: { 200: { description: 'ok' } } }), (c) => c.json({}, 200));
    app.openapi(createRoute({ method: 'get', path: '/v1/declared', ...access({ scope: 'read' }), responses: { 200: { description: 'ok' } } }), (c) => c.json({}, 200));
    expect(() => {
      requireAccessOnEveryRoute(app);
    }).toThrow(/these do not: GET \/v1\/undeclared, POST \/v1\/by-hand$/);
  });

  it('without a token, or with an unknown one, every route is 401', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const token of ['', 'not-a-token-0123456789', 'ctok_not-a-minted-token']) {
        const answer = await probe(route, token, GHOSTS);
        if (answer.status !== 401 || errorCode(answer) !== 'UNAUTHORIZED') wrong.push(`${route.name} with "${token}": ${answer.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("an account's session token", () => {
  it('cannot read or change another account through any route', async () => {
    const { client } = stack();
    const before = await Promise.all([client.getAccount(OTHER), client.ledger(OTHER), client.getJob(OTHER_JOB), client.listUsers(OTHER), client.getContract(OTHER)]);
    const ids = { accountId: OTHER, jobId: OTHER_JOB, chargeId: otherChargeId, userId: 'alice', tokenId: 'tok_nobody' };
    const wrong: string[] = [];
    for (const session of [reader, buyer]) {
      for (const route of routes) {
        const answer = await probe(route, session.token, ids);
        // Only what is the same for every account (the catalog) answers; everything else is refused.
        const expected = route.session === 'shared' ? 'allowed' : 'forbidden';
        if (outcome(answer) !== expected) wrong.push(`${route.name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      }
      // The events feed filtered to the other account, and its job by id, are refused too.
      for (const path of [`/v1/events?accountId=${OTHER}`, `/v1/jobs/${OTHER_JOB}`, `/v1/jobs/${OTHER_JOB}/results`]) {
        const answer = await http(stack().api.url, 'GET', path, { token: session.token });
        if (outcome(answer) !== 'forbidden') wrong.push(`GET ${path}: ${answer.status}`);
      }
      // A top-up with a valid body, for the other account, as its admin.
      const topUp = await http(stack().api.url, 'POST', `/v1/accounts/${OTHER}/top-ups`, { token: session.token, json: { credits: 5, userId: 'alice', idempotencyKey: 'cross-account' } });
      if (outcome(topUp) !== 'forbidden') wrong.push(`top-up of ${OTHER}: ${topUp.status}`);
    }
    expect(wrong).toEqual([]);
    expect(await Promise.all([client.getAccount(OTHER), client.ledger(OTHER), client.getJob(OTHER_JOB), client.listUsers(OTHER), client.getContract(OTHER)])).toEqual(before);
    expect(before[2].status).toBe('draft');
  });

  it('reads its account, and buys a top-up only as its user when minted with allowTopUp', async () => {
    const base = stack().api.url;
    expect((await http(base, 'GET', `/v1/accounts/${OWN}`, { token: reader.token })).status).toBe(200);
    expect(reader).toMatchObject({ accountId: OWN, userId: null, allowTopUp: false });
    const body = (userId: string, key: string) => ({ json: { credits: 5, userId, idempotencyKey: key } });
    const refused = await http(base, 'POST', `/v1/accounts/${OWN}/top-ups`, { token: reader.token, ...body('alice', 'reader-top-up') });
    expect([refused.status, errorCode(refused), (refused.body as { error: { details: unknown } }).error.details]).toEqual([403, 'FORBIDDEN', { required: 'allowTopUp', scope: 'session' }]);
    const asBob = await http(base, 'POST', `/v1/accounts/${OWN}/top-ups`, { token: buyer.token, ...body('bob', 'buyer-as-bob') });
    expect([asBob.status, errorCode(asBob)]).toEqual([403, 'FORBIDDEN']);
    const bought = await http(base, 'POST', `/v1/accounts/${OWN}/top-ups`, { token: buyer.token, ...body('alice', 'buyer-top-up') });
    expect(bought.status).toBe(201);
    // A session for a member may be minted, but the top-up itself needs an admin, as any top-up does.
    const member = await stack().client.createSessionToken(OWN, { userId: 'bob', allowTopUp: true });
    const notAdmin = await http(base, 'POST', `/v1/accounts/${OWN}/top-ups`, { token: member.token, ...body('bob', 'member-top-up') });
    expect([notAdmin.status, errorCode(notAdmin)]).toEqual([403, 'NOT_ADMIN']);
    // allowTopUp names who buys; an unknown account gets no token.
    const noUser = await http(base, 'POST', `/v1/accounts/${OWN}/session-tokens`, { json: { allowTopUp: true } });
    expect([noUser.status, errorCode(noUser)]).toEqual([422, 'VALIDATION_FAILED']);
    const unknown = await http(base, 'POST', '/v1/accounts/scopes-nobody/session-tokens', { json: {} });
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'UNKNOWN_ACCOUNT']);
  });

  it('is refused once expired, and when altered or signed with another secret, with a clear 401', async () => {
    const base = stack().api.url;
    const session = await stack().client.createSessionToken(OWN, { expiresInSeconds: 60 });
    const read = (token: string) => http(base, 'GET', `/v1/accounts/${OWN}`, { token });
    expect((await read(session.token)).status).toBe(200);
    expect(Date.parse(session.expiresAt) - Date.now()).toBeGreaterThan(55_000);

    clockOffsetMs = 60_000;
    try {
      const expired = await read(session.token);
      expect([expired.status, errorCode(expired)]).toEqual([401, 'UNAUTHORIZED']);
      expect((expired.body as { error: { message: string } }).error.message).toBe(`the session token expired at ${session.expiresAt}: mint a new one`);
    } finally {
      clockOffsetMs = 0;
    }

    // The claims are readable; changing them (another account, a top-up, a later expiry) breaks the signature.
    const [payload, signature] = session.token.slice('csess_'.length).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const altered = (change: Record<string, unknown>) => `csess_${Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url')}.${signature}`;
    const forged = signSessionToken('another-secret-0123456789abcdef-0123456789', { accountId: OWN, userId: null, allowTopUp: false, expiresAt: new Date(Date.now() + 60_000) });
    const flipped = `${session.token.slice(0, -1)}${session.token.endsWith('A') ? 'B' : 'A'}`;
    // The same signature spelled another way: the last character's spare bits, which decoding ignores.
    const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${session.token.slice(0, -1)}${BASE64URL[BASE64URL.indexOf(session.token.slice(-1)) ^ 1] ?? ''}`;
    expect(Buffer.from(respelled.split('.')[1] ?? '', 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    for (const token of [altered({ accountId: OTHER }), altered({ allowTopUp: true, userId: 'alice' }), altered({ expiresAt: Date.now() + 3_600_000 }), forged, flipped, respelled]) {
      const answer = await read(token);
      expect([answer.status, errorCode(answer)], token).toEqual([401, 'UNAUTHORIZED']);
      expect((answer.body as { error: { message: string } }).error.message).toMatch(/signature does not match/);
    }
    const malformed = await read('csess_not-a-token');
    expect([malformed.status, (malformed.body as { error: { message: string } }).error.message]).toEqual([401, 'the session token is malformed']);
  });
});

describe('minted API tokens', () => {
  it('work with their scope, are stored hashed, and stop working when revoked', async () => {
    const { client, pool } = stack();
    const base = stack().api.url;
    const minted = await client.createApiToken({ name: 'reporting', scope: 'read' });
    expect(minted).toMatchObject({ name: 'reporting', scope: 'read', revokedAt: null });
    expect(minted.token).toMatch(/^ctok_[A-Za-z0-9_-]{43}$/);
    expect((await http(base, 'GET', `/v1/accounts/${OWN}`, { token: minted.token })).status).toBe(200);
    const charge = await http(base, 'POST', `/v1/accounts/${OWN}/charges`, { token: minted.token, json: { feature: 'ai.variable', userId: 'alice', idempotencyKey: 'read-charge' } });
    expect([charge.status, errorCode(charge)]).toEqual([403, 'FORBIDDEN']);

    // The table holds the token's SHA-256 and nothing from which the token could be read back.
    const { rows } = await pool.query<{ token_id: string; secret_sha256: Buffer }>('SELECT * FROM api_tokens');
    const row = rows.find((candidate) => candidate.token_id === minted.tokenId);
    expect(row?.secret_sha256.equals(createHash('sha256').update(minted.token).digest())).toBe(true);
    const secretPart = minted.token.slice('ctok_'.length);
    const columns = rows.flatMap((candidate) => Object.values(candidate).map((value) => (value instanceof Buffer ? `${value.toString('hex')} ${value.toString('utf8')}` : String(value))));
    expect(columns.filter((text) => text.includes(secretPart))).toEqual([]);
    expect(JSON.stringify(await client.listApiTokens())).not.toContain(secretPart);

    const revoked = await client.revokeApiToken(minted.tokenId);
    expect(revoked.revokedAt).not.toBeNull();
    const after = await http(base, 'GET', `/v1/accounts/${OWN}`, { token: minted.token });
    expect([after.status, errorCode(after), (after.body as { error: { message: string } }).error.message]).toEqual([
      401,
      'UNAUTHORIZED',
      `token ${minted.tokenId} was revoked at ${revoked.revokedAt ?? ''}`,
    ]);
    expect(await client.revokeApiToken(minted.tokenId)).toEqual(revoked);
    expect((await client.listApiTokens()).tokens.find((token) => token.tokenId === minted.tokenId)).toEqual(revoked);
    const unknown = await http(base, 'POST', '/v1/tokens/tok_nobody/revoke');
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'UNKNOWN_TOKEN']);
  });

  it('are minted, listed and revoked with `credits token`, and `credits session-token` mints a session token', async () => {
    const api = { url: stack().api.url, token: API_TOKEN };
    const created = await cliOutput(['token', 'create', '--scope', 'service', '--name', 'cli backend'], { api });
    const [tokenId] = /tok_[A-Za-z0-9_-]+/.exec(created) ?? [];
    const token = created.trim().split('\n').at(-1) ?? '';
    expect(token).toMatch(/^ctok_/);
    // The new token works for the CLI too, with its scope.
    expect(await cliOutput(['balance', OWN], { api: { ...api, token } })).toContain(OWN);
    expect(await cliOutput(['token', 'list'], { api })).toMatch(new RegExp(`${tokenId ?? 'none'}[\\s│]+cli backend[\\s│]+service`));
    const readOnly = await runCli(['token', 'list'], { api: { ...api, token } });
    expect([readOnly.code, readOnly.stderr]).toEqual([1, 'credits: FORBIDDEN: this route needs a token of scope admin; this one is service\n']);
    expect(await cliOutput(['token', 'revoke', tokenId ?? ''], { api })).toContain(`revoked ${tokenId ?? ''}`);
    const revoked = await runCli(['balance', OWN], { api: { ...api, token } });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(new RegExp(`^credits: UNAUTHORIZED: token ${tokenId ?? 'none'} was revoked at \\S+\n$`));

    const session = JSON.parse(await cliOutput(['session-token', OWN, '--user', 'alice', '--top-up', '--expires-in', '120', '--json'], { api })) as SessionTokenView;
    expect(session).toMatchObject({ accountId: OWN, userId: 'alice', allowTopUp: true });
    expect((await http(stack().api.url, 'GET', `/v1/accounts/${OWN}/grants`, { token: session.token })).status).toBe(200);
  });
});
