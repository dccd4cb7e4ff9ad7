import { createRoute } from '@hono/zod-openapi';
import type { GrantSource } from '../../contract/fields.js';
import type { Statement } from '../../ledger/ledger.js';
import { microsToCredits, type Micros } from '../../money.js';
import type { ApiApp, ApiDeps } from '../context.js';
import { errors, json } from '../openapi.js';
import { access } from '../auth.js';
import {
  AccountIdParams,
  ChargesQuery,
  ChargesResponse,
  GrantsQuery,
  GrantsResponse,
  LedgerQuery,
  LedgerResponse,
  StatementQuery,
  StatementResponse,
  type StatementView,
} from '../schemas.js';
import { drawsInCredits } from '../views.js';

/** The ledger explorer: why a balance changed, entry by entry, charge by charge, period by period. */

const tags = ['ledger'];

const ledgerEntries = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/ledger',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: 'Ledger entries in order with their causes, a page at a time',
  description:
    'Each entry says what made it (the operation, its key, feature, variant, user, quantity, job, records; for a release the hold and job, for an expiry the grant and its period) and the grant it touched. ' +
    'Filters narrow by entry kind, feature, user, job, grant, operation and time range [from, to).',
  request: { params: AccountIdParams, query: LedgerQuery },
  responses: { 200: json(LedgerResponse, 'a page of entries'), ...errors('UNKNOWN_ACCOUNT') },
});

const listCharges = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/charges',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: 'Charges in order, each with the grants that paid for it and what was refunded',
  description: "Direct charges and a job's charges on its hold; filters narrow by feature, user, job, grant, charge and time range [from, to).",
  request: { params: AccountIdParams, query: ChargesQuery },
  responses: { 200: json(ChargesResponse, 'a page of charges'), ...errors('UNKNOWN_ACCOUNT') },
});

const listGrants = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/grants',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: 'Every grant, whatever its status (pending, active, spent, expired, revoked), in the order they were made',
  request: { params: AccountIdParams, query: GrantsQuery },
  responses: { 200: json(GrantsResponse, 'a page of grants'), ...errors('UNKNOWN_ACCOUNT') },
});

const statement = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/statement',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: "A period's statement: opening balance, grants, charges by feature and user, holds, refunds, adjustments, expiries, closing balance",
  description: 'The numbers add up exactly: closing = opening + granted − charged + refunded − adjusted − expired, for the total and for each source.',
  request: { params: AccountIdParams, query: StatementQuery },
  responses: { 200: json(StatementResponse, 'the statement'), ...errors('UNKNOWN_ACCOUNT', 'VALIDATION_FAILED') },
});

function bySourceInCredits(bySource: Record<GrantSource, Micros>): Record<GrantSource, number> {
  return Object.fromEntries(Object.entries(bySource).map(([source, micros]) => [source, microsToCredits(micros)])) as Record<GrantSource, number>;
}

function statementView(s: Statement): StatementView {
  const line = (spend: Statement['charged']['byFeature'][number]) => ({ ...spend, credits: microsToCredits(spend.credits) });
  return {
    ...s,
    opening: { total: microsToCredits(s.opening.total), bySource: bySourceInCredits(s.opening.bySource) },
    granted: { total: microsToCredits(s.granted.total), bySource: bySourceInCredits(s.granted.bySource) },
    charged: { total: microsToCredits(s.charged.total), byFeature: s.charged.byFeature.map(line), byUser: s.charged.byUser.map(line) },
    refunded: microsToCredits(s.refunded),
    adjusted: microsToCredits(s.adjusted),
    expired: { total: microsToCredits(s.expired.total), bySource: bySourceInCredits(s.expired.bySource) },
    holds: { placed: microsToCredits(s.holds.placed), released: microsToCredits(s.holds.released), chargedFromHolds: microsToCredits(s.holds.chargedFromHolds), heldAtClose: microsToCredits(s.holds.heldAtClose) },
    closing: { total: microsToCredits(s.closing.total), bySource: bySourceInCredits(s.closing.bySource) },
  };
}

const timeRange = (query: { from?: string | undefined; to?: string | undefined }) => ({
  ...(query.from === undefined ? {} : { from: new Date(query.from) }),
  ...(query.to === undefined ? {} : { to: new Date(query.to) }),
});

export function ledgerRoutes(app: ApiApp, deps: ApiDeps): void {
  const { ledger } = deps;

  app.openapi(ledgerEntries, async (c) => {
    const { accountId } = c.req.valid('param');
    const { after, limit, from, to, ...filters } = c.req.valid('query');
    const entries = await ledger.entries({ accountId, afterEntryId: after, limit, ...filters, ...timeRange({ from, to }) });
    const last = entries.at(-1);
    return c.json(
      {
        entries: entries.map((entry) => ({ ...entry, amount: microsToCredits(entry.amount), heldChange: microsToCredits(entry.heldChange) })),
        nextAfter: entries.length === limit && last ? last.entryId : null,
      },
      200,
    );
  });

  app.openapi(listCharges, async (c) => {
    const { accountId } = c.req.valid('param');
    const { after, limit, from, to, ...filters } = c.req.valid('query');
    const charges = await ledger.charges({ accountId, afterChargeId: after, limit, ...filters, ...timeRange({ from, to }) });
    const last = charges.at(-1);
    return c.json(
      {
        charges: charges.map((charge) => ({ ...charge, credits: microsToCredits(charge.credits), refunded: microsToCredits(charge.refunded), grants: drawsInCredits(charge.grants) })),
        nextAfter: charges.length === limit && last ? Number(last.chargeId) : null,
      },
      200,
    );
  });

  app.openapi(listGrants, async (c) => {
    const { accountId } = c.req.valid('param');
    const { after, limit, ...filters } = c.req.valid('query');
    const grants = await ledger.listGrants({ accountId, now: deps.now(), afterGrantId: after, limit, ...filters });
    const last = grants.at(-1);
    return c.json(
      {
        grants: grants.map(({ grantId, ...grant }) => ({
          ...grant,
          id: grantId,
          amount: microsToCredits(grant.amount),
          remaining: microsToCredits(grant.remaining),
          held: microsToCredits(grant.held),
          available: microsToCredits(grant.available),
          expired: microsToCredits(grant.expired),
        })),
        nextAfter: grants.length === limit && last ? Number(last.grantId) : null,
      },
      200,
    );
  });

  app.openapi(statement, async (c) => {
    const { accountId } = c.req.valid('param');
    const { period } = c.req.valid('query');
    const now = deps.now();
    return c.json(statementView(await ledger.statement({ accountId, at: period === 'current' ? now : new Date(period), now })), 200);
  });
}
