import { createRoute } from '@hono/zod-openapi';
import { microsToCredits, parseCredits } from '../../money.js';
import type { ApiApp, ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { errors, json, jsonBody } from '../openapi.js';
import { access } from '../auth.js';
import {
  AccountIdParams,
  AccountSettingsRequest,
  AccountSettingsResponse,
  AccountResponse,
  AccountsQuery,
  AccountsResponse,
  AccountUserParams,
  AdjustmentRequest,
  AdjustmentResponse,
  ChargeParams,
  ContractChangeResponse,
  ContractRequest,
  ContractResponse,
  RefundRequest,
  RefundResponse,
  CancelAccountResponse,
  ChangePlanRequest,
  ChangePlanResponse,
  ChargeRequest,
  ChargeResponse,
  CreateAccountRequest,
  CreateAccountResponse,
  EstimateRequest,
  EstimateResponse,
  SetUserRequest,
  TopUpRequest,
  TopUpResponse,
  UsageQuery,
  UsageResponse,
  UserResponse,
  UsersResponse,
  type AccountView,
} from '../schemas.js';
import { accountView, drawsInCredits } from '../views.js';
import type { ContractTerms } from '../../ledger/contracts.js';
import type { AccountSettings } from '../../ledger/ledger.js';

const tags = ['accounts'];

const listAccounts = createRoute({
  method: 'get',
  path: '/v1/accounts',
  tags,
  ...access({ scope: 'read' }),
  summary: 'Accounts whose id starts with a prefix, in id order, a page at a time (how an operator finds one)',
  request: { query: AccountsQuery },
  responses: { 200: json(AccountsResponse, 'a page of accounts') },
});

const createAccount = createRoute({
  method: 'post',
  path: '/v1/accounts',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Create an account on a plan and start its billing periods',
  description: 'Idempotent by accountId: the same settings again answer 200 with the account; other settings are 409 ACCOUNT_EXISTS.',
  request: { body: jsonBody(CreateAccountRequest) },
  responses: {
    201: json(CreateAccountResponse, 'created'),
    200: json(CreateAccountResponse, 'the account already existed with these settings, or a cancelled one subscribed again'),
    ...errors('UNKNOWN_PLAN', 'ACCOUNT_EXISTS', 'UNAVAILABLE'),
  },
});

const getAccount = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: 'Plan, period, balance and grants',
  request: { params: AccountIdParams },
  responses: { 200: json(AccountResponse, 'the account'), ...errors('UNKNOWN_ACCOUNT') },
});

const changePlan = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/plan',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Change plan or seats',
  description: 'An upgrade grants the difference for the rest of the period now; a downgrade applies from the next period.',
  request: { params: AccountIdParams, body: jsonBody(ChangePlanRequest) },
  responses: { 200: json(ChangePlanResponse, 'the change'), ...errors('UNKNOWN_ACCOUNT', 'UNKNOWN_PLAN', 'ACCOUNT_STATE_CONFLICT', 'UNAVAILABLE') },
});

const cancelAccount = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/cancel',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Cancel at the end of the period',
  description: 'No allowance is granted after the current period; purchased credits stay usable.',
  request: { params: AccountIdParams },
  responses: { 200: json(CancelAccountResponse, 'cancelling'), ...errors('UNKNOWN_ACCOUNT', 'ACCOUNT_STATE_CONFLICT', 'UNAVAILABLE') },
});

const setUser = createRoute({
  method: 'put',
  path: '/v1/accounts/{accountId}/users/{userId}',
  tags,
  ...access({ scope: 'admin' }),
  summary: "Set a user's role and whether they may spend credits",
  request: { params: AccountUserParams, body: jsonBody(SetUserRequest) },
  responses: { 200: json(UserResponse, 'the user'), ...errors('UNKNOWN_ACCOUNT') },
});

const listUsers = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/users',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: "The account's users, their roles and whether they may spend, and what a spend by anyone else does",
  request: { params: AccountIdParams },
  responses: { 200: json(UsersResponse, 'the users'), ...errors('UNKNOWN_ACCOUNT') },
});

const updateSettings = createRoute({
  method: 'patch',
  path: '/v1/accounts/{accountId}',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Change account settings: whether a spend by an unregistered user is refused or registers them, and the balance.low threshold',
  description: 'Fields left out keep their value.',
  request: { params: AccountIdParams, body: jsonBody(AccountSettingsRequest) },
  responses: { 200: json(AccountSettingsResponse, 'the settings'), ...errors('UNKNOWN_ACCOUNT') },
});

const topUp = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/top-ups',
  tags,
  ...access({ scope: 'service', session: 'top-up' }),
  summary: 'An admin buys credits',
  description: 'Idempotent by idempotencyKey: a replay answers the first response.',
  request: { params: AccountIdParams, body: jsonBody(TopUpRequest) },
  responses: { 201: json(TopUpResponse, 'credits added'), ...errors('UNKNOWN_ACCOUNT', 'NOT_ADMIN', 'IDEMPOTENCY_CONFLICT') },
});

const adjust = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/adjustments',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'An operator adds credits (promo or adjustment, optionally expiring or restricted to features) or removes credits from a grant',
  description:
    'Attributed (operator, reason) and idempotent by idempotencyKey. Removal never takes a grant below zero nor touches credits a job holds (409 REMOVAL_EXCEEDS_GRANT).',
  request: { params: AccountIdParams, body: jsonBody(AdjustmentRequest) },
  responses: { 201: json(AdjustmentResponse, 'adjusted'), ...errors('UNKNOWN_ACCOUNT', 'UNKNOWN_GRANT', 'UNKNOWN_FEATURE', 'REMOVAL_EXCEEDS_GRANT', 'IDEMPOTENCY_CONFLICT') },
});

const refund = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/charges/{chargeId}/refunds',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Refund a charge in full or in part',
  description:
    'Credits go back to the grants the charge drew on while those are in force; what came from a grant that has expired since is reported as `expired`, not put back. ' +
    'All refunds of a charge together never exceed it (409 REFUND_EXCEEDS_CHARGE). Attributed and idempotent by idempotencyKey.',
  request: { params: ChargeParams, body: jsonBody(RefundRequest) },
  responses: { 201: json(RefundResponse, 'refunded'), ...errors('UNKNOWN_ACCOUNT', 'UNKNOWN_CHARGE', 'REFUND_EXCEEDS_CHARGE', 'IDEMPOTENCY_CONFLICT') },
});

const getContract = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/contract',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: "The account's contract terms in force, and those scheduled for the next period",
  request: { params: AccountIdParams },
  responses: { 200: json(ContractResponse, 'the contract'), ...errors('UNKNOWN_ACCOUNT') },
});

const setContract = createRoute({
  method: 'put',
  path: '/v1/accounts/{accountId}/contract',
  tags,
  ...access({ scope: 'admin' }),
  summary: "Set the account's contract terms: its own allowance (fixed or per seat) and extra features on top of its plan",
  description:
    'From the next period (default), or now: an allowance increase effective now is granted for the rest of the period like an upgrade. ' +
    'The billing workflow writes the next period ahead under the new terms. Attributed and idempotent by idempotencyKey.',
  request: { params: AccountIdParams, body: jsonBody(ContractRequest) },
  responses: {
    200: json(ContractChangeResponse, 'recorded'),
    ...errors('UNKNOWN_ACCOUNT', 'UNKNOWN_FEATURE', 'ACCOUNT_STATE_CONFLICT', 'IDEMPOTENCY_CONFLICT', 'UNAVAILABLE'),
  },
});

const charge = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/charges',
  tags,
  ...access({ scope: 'service' }),
  summary: 'Charge an action',
  description: 'Atomic and never overdrawn. Idempotent by idempotencyKey: a replay answers the first response (header Idempotent-Replayed: true).',
  request: { params: AccountIdParams, body: jsonBody(ChargeRequest) },
  responses: {
    201: json(ChargeResponse, 'charged'),
    ...errors('INSUFFICIENT_CREDITS', 'FEATURE_NOT_IN_PLAN', 'CREDITS_DISALLOWED', 'UNKNOWN_USER', 'UNKNOWN_ACCOUNT', 'UNKNOWN_FEATURE', 'IDEMPOTENCY_CONFLICT'),
  },
});

const estimate = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/estimates',
  tags,
  ...access({ scope: 'service' }),
  summary: 'The most an action would cost, and whether the balance covers it',
  request: { params: AccountIdParams, body: jsonBody(EstimateRequest) },
  responses: { 200: json(EstimateResponse, 'the estimate'), ...errors('FEATURE_NOT_IN_PLAN', 'CREDITS_DISALLOWED', 'UNKNOWN_USER', 'UNKNOWN_ACCOUNT', 'UNKNOWN_FEATURE') },
});

const usage = createRoute({
  method: 'get',
  path: '/v1/accounts/{accountId}/usage',
  tags,
  ...access({ scope: 'read', session: 'account' }),
  summary: 'Credits charged over [from, to), by feature, user, job or day (in the account time zone)',
  request: { params: AccountIdParams, query: UsageQuery },
  responses: { 200: json(UsageResponse, 'usage rows'), ...errors('UNKNOWN_ACCOUNT') },
});


export function accountRoutes(app: ApiApp, deps: ApiDeps): void {
  /** Why a subscription got no trial, in words a product can show; `opened` once its workflow has opened it. */
  function trialRefusal(requested: boolean | undefined, planId: string, opened: boolean): string {
    if (!requested) return 'no trial was asked for (trial: true asks for one)';
    if (!deps.catalog.plan(planId)?.trialCredits) return `plan "${planId}" has no trial`;
    // An open subscription that asked for the plan's trial and did not get it: the ledger refused a second one.
    if (opened) return 'this account already had its trial: a trial is granted once per account, ever';
    return 'the account is still opening: its trial is granted with its first period';
  }

  const { ledger, temporal, catalog } = deps;

  /** The account as the ledger and its workflow (when it can answer) see it. */
  async function readAccount(accountId: string, now: Date): Promise<AccountView> {
    const [balance, workflow] = await Promise.all([ledger.balance({ accountId, now }), temporal.accountState(accountId)]);
    return accountView(balance, workflow, now);
  }

  app.openapi(createAccount, async (c) => {
    const body = c.req.valid('json');
    const startAt = body.startAt ? new Date(body.startAt) : deps.now();
    const account = await ledger.createAccount({
      accountId: body.accountId,
      planId: body.planId,
      seats: body.seats,
      timeZone: body.timeZone,
      users: body.users,
      unknownUsers: body.unknownUsers,
      now: startAt,
    });
    const workflow = await temporal.openAccount({
      accountId: body.accountId,
      planId: body.planId,
      seats: body.seats,
      timeZone: body.timeZone,
      startAt: startAt.toISOString(),
      trial: body.trial,
    });
    if (workflow === null) deps.logger.warn({ accountId: body.accountId }, 'account is still opening: is a worker running?');
    const now = deps.now();
    const read = accountView(await ledger.balance({ accountId: body.accountId, now }), workflow, now);
    const open = workflow !== null && workflow.status !== 'opening' ? workflow : null;
    const trialGranted = open?.trialGranted ?? false;
    const view = { ...read, trialGranted, trialNote: trialGranted ? null : trialRefusal(body.trial, body.planId, open !== null) };
    return account.created ? c.json(view, 201) : c.json(view, 200);
  });

  app.openapi(listAccounts, async (c) => {
    const { prefix, after, limit } = c.req.valid('query');
    const accounts = await ledger.listAccounts({ limit, ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { afterAccountId: after }) });
    const last = accounts.at(-1);
    return c.json({ accounts, nextAfter: accounts.length === limit && last ? last.accountId : null }, 200);
  });

  app.openapi(getAccount, async (c) => c.json(await readAccount(c.req.valid('param').accountId, deps.now()), 200));

  app.openapi(changePlan, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    const account = await ledger.getAccount({ accountId });
    if (!catalog.plan(body.planId)) throw new ApiError('UNKNOWN_PLAN', `plan "${body.planId}" is not in the catalog`, { planId: body.planId });
    const result = await temporal.changePlan(account, { planId: body.planId, seats: body.seats });
    return c.json({ ...result, grantedNow: microsToCredits(result.grantedNow) }, 200);
  });

  app.openapi(cancelAccount, async (c) => {
    const { accountId } = c.req.valid('param');
    return c.json(await temporal.cancelAccount(await ledger.getAccount({ accountId })), 200);
  });

  app.openapi(setUser, async (c) => {
    const { accountId, userId } = c.req.valid('param');
    const body = c.req.valid('json');
    const user = await ledger.setUser({ accountId, userId, role: body.role, creditsAllowed: body.creditsAllowed, now: deps.now() });
    return c.json({ ...user, role: body.role }, 200);
  });

  app.openapi(listUsers, async (c) => c.json(await ledger.listUsers({ accountId: c.req.valid('param').accountId }), 200));

  app.openapi(updateSettings, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    const settings = await ledger.updateSettings({
      accountId,
      ...(body.unknownUsers ? { unknownUsers: body.unknownUsers } : {}),
      ...(body.lowBalanceCredits !== undefined ? { lowBalanceMicros: body.lowBalanceCredits === null ? null : parseCredits(body.lowBalanceCredits) } : {}),
    });
    return c.json(settingsView(settings), 200);
  });

  app.openapi(adjust, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    const common = { accountId, operator: body.operator, reason: body.reason, idempotencyKey: body.idempotencyKey, credits: parseCredits(body.credits), now: deps.now() };
    const result = await ledger.adjust(
      body.action === 'add'
        ? { ...common, action: 'add', source: body.source, ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt) } : {}), ...(body.features ? { features: body.features } : {}) }
        : { ...common, action: 'remove', grantId: body.grantId },
    );
    c.header('Idempotent-Replayed', String(result.replayed));
    const { grant } = result;
    return c.json(
      {
        adjustmentId: result.adjustmentId,
        action: result.action,
        credits: microsToCredits(result.credits),
        grant: { grantId: grant.grantId, source: grant.source, amount: microsToCredits(grant.credits), remaining: microsToCredits(grant.remaining), effectiveAt: grant.effectiveAt, expiresAt: grant.expiresAt },
        balance: { available: microsToCredits(result.balance.available) },
      },
      201,
    );
  });

  app.openapi(refund, async (c) => {
    const { accountId, chargeId } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await ledger.refund({
      accountId,
      chargeId,
      ...(body.credits !== undefined ? { credits: parseCredits(body.credits) } : {}),
      operator: body.operator,
      reason: body.reason,
      idempotencyKey: body.idempotencyKey,
      now: deps.now(),
    });
    c.header('Idempotent-Replayed', String(result.replayed));
    return c.json(
      {
        refundId: result.refundId,
        chargeId: result.chargeId,
        credits: microsToCredits(result.credits),
        returned: microsToCredits(result.returned),
        expired: microsToCredits(result.expired),
        grants: result.grants.map((slice) => ({ ...slice, credits: microsToCredits(slice.credits) })),
        charge: { credits: microsToCredits(result.charge.credits), refunded: microsToCredits(result.charge.refunded), refundable: microsToCredits(result.charge.refundable) },
        balance: { available: microsToCredits(result.balance.available) },
      },
      201,
    );
  });

  app.openapi(getContract, async (c) => {
    const contract = await ledger.contract({ accountId: c.req.valid('param').accountId, now: deps.now() });
    return c.json({ accountId: contract.accountId, inForce: contractTermsView(contract.inForce), scheduled: contractTermsView(contract.scheduled) }, 200);
  });

  app.openapi(setContract, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    for (const featureId of body.extraFeatures) {
      if (!catalog.feature(featureId)) throw new ApiError('UNKNOWN_FEATURE', `feature "${featureId}" is not in the catalog`, { feature: featureId });
    }
    const account = await ledger.getAccount({ accountId });
    const result = await temporal.changeContract(account, {
      allowance: body.allowance ? { credits: parseCredits(body.allowance.credits), perSeat: body.allowance.perSeat } : null,
      extraFeatures: body.extraFeatures,
      effective: body.effective,
      operator: body.operator,
      reason: body.reason,
      idempotencyKey: body.idempotencyKey,
    });
    c.header('Idempotent-Replayed', String(result.replayed));
    return c.json(
      {
        contractId: result.contractId,
        effective: result.effective,
        effectiveAt: result.effectiveAt,
        grantedNow: microsToCredits(result.grantedNow),
        nextAllowance: microsToCredits(result.nextAllowance),
      },
      200,
    );
  });

  app.openapi(topUp, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await ledger.topUp({
      accountId,
      userId: body.userId,
      credits: parseCredits(body.credits),
      ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt) } : {}),
      idempotencyKey: body.idempotencyKey,
      now: deps.now(),
    });
    c.header('Idempotent-Replayed', String(result.replayed));
    return c.json(
      { grantId: result.grantId, credits: microsToCredits(result.credits), expiresAt: result.expiresAt, balance: { available: microsToCredits(result.balance.available) } },
      201,
    );
  });

  app.openapi(charge, async (c) => {
    const { accountId } = c.req.valid('param');
    const result = await ledger.charge({ ...c.req.valid('json'), accountId, now: deps.now() });
    c.header('Idempotent-Replayed', String(result.replayed));
    return c.json(
      {
        chargeId: result.chargeId,
        feature: result.feature,
        credits: microsToCredits(result.credits),
        billableQuantity: result.billableQuantity,
        freeQuantity: result.freeQuantity,
        balance: { available: microsToCredits(result.balance.available) },
        occurredAt: result.occurredAt,
        grants: drawsInCredits(result.grants),
      },
      201,
    );
  });

  app.openapi(estimate, async (c) => {
    const { accountId } = c.req.valid('param');
    const result = await ledger.estimate({ ...c.req.valid('json'), accountId, now: deps.now() });
    return c.json({ ...result, maxCredits: microsToCredits(result.maxCredits), available: microsToCredits(result.available) }, 200);
  });

  app.openapi(usage, async (c) => {
    const { accountId } = c.req.valid('param');
    const query = c.req.valid('query');
    const rows = await ledger.usage({ accountId, from: new Date(query.from), to: new Date(query.to), groupBy: query.groupBy });
    const view = rows.map((row) => ({ ...row, credits: microsToCredits(row.credits), refunded: microsToCredits(row.refunded) }));
    return c.json({ groupBy: query.groupBy, from: query.from, to: query.to, rows: view }, 200);
  });
}

function settingsView(settings: AccountSettings): { accountId: string; unknownUsers: AccountSettings['unknownUsers']; lowBalanceCredits: number | null } {
  return { accountId: settings.accountId, unknownUsers: settings.unknownUsers, lowBalanceCredits: settings.lowBalanceMicros === null ? null : microsToCredits(settings.lowBalanceMicros) };
}

function contractTermsView(terms: ContractTerms | null) {
  if (!terms) return null;
  return { ...terms, allowance: terms.allowance ? { credits: microsToCredits(terms.allowance.credits), perSeat: terms.allowance.perSeat } : null };
}
