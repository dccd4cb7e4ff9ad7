/**
 * The API's contract: every request and response shape, as plain zod schemas (no server code), with
 * descriptions and examples as zod metadata. The routes validate with them and the API names them as
 * OpenAPI components (src/api/schemas.ts); the typed client (src/client/) shares their types. Amounts
 * are credits as JSON numbers with at most 6 decimals; the ledger's micros never leave the server.
 */
import { z } from 'zod';
import {
  ACCOUNT_STATUSES,
  CONTRACT_EFFECTS,
  apiScope,
  ENTRY_KINDS,
  GRANT_SOURCES,
  GRANT_STATUSES,
  USAGE_GROUPS,
  accountId,
  actionShape,
  attribution,
  credits,
  cursor,
  extraFeatures,
  featureId,
  grantFeatures,
  chargeId,
  grantId,
  grantSource,
  idempotencyKey,
  isoInstant,
  jobId,
  jobRecord,
  pageLimit,
  planId,
  positiveCredits,
  quantityOrSubjects,
  quantityOrSubjectsIssue,
  role,
  seats,
  signedCredits,
  timeZone,
  unknownUsersPolicy,
  userId,
  users,
} from './fields.js';
import { JOB_STATUSES, PAUSE_REASONS } from './job-status.js';
import { JOB_LIMITS, LIMITS, SESSION_TOKEN_LIMITS } from './limits.js';

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'INSUFFICIENT_CREDITS' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  }).meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorResponse>;

// ---- catalog

export const CatalogResponse = z
  .object({
    features: z.array(
      z.object({
        featureId: z.string(),
        name: z.string(),
        unit: z.string(),
        kind: z.enum(['action', 'enrichment']),
        unitPrice: credits,
        variants: z.record(z.string(), credits),
        chargeableOutcomes: z.array(z.string()).nullable(),
        reexportWindowDays: z.number().int().nullable(),
      }),
    ),
    plans: z.array(
      z.object({
        planId: z.string(),
        name: z.string(),
        features: z.array(z.string()),
        allowances: z.array(z.object({ credits, perSeat: z.boolean(), features: z.array(z.string()).nullable() })),
        trialCredits: credits.nullable(),
        period: z.record(z.string(), z.unknown()),
      }),
    ),
  }).meta({ id: 'Catalog' });
export type CatalogView = z.infer<typeof CatalogResponse>;

// ---- accounts

export const AccountsQuery = z.strictObject({
  prefix: z.string().max(128).optional().meta({ description: 'Only accounts whose id starts with this' }),
  after: accountId.optional().meta({ description: 'Start after this account id (the last one of the page before)' }),
  limit: pageLimit(LIMITS.maxPageSize),
});
export type AccountsParams = z.input<typeof AccountsQuery>;
export const AccountsResponse = z
  .object({
    accounts: z.array(
      z.object({ accountId: z.string(), planId: z.string(), seats: z.number().int(), timeZone: z.string(), status: z.enum(ACCOUNT_STATUSES), createdAt: z.string() }).meta({ id: 'AccountListItem' }),
    ),
    nextAfter: z.string().nullable().meta({ description: 'Pass as `after` for the next page; null on the last page' }),
  }).meta({ id: 'AccountList' });
export type AccountList = z.infer<typeof AccountsResponse>;

export const CreateAccountRequest = z
  .strictObject({
    accountId,
    planId,
    seats: seats.default(1),
    timeZone: timeZone.default('UTC'),
    startAt: isoInstant.optional().meta({ description: 'When the first period starts; now by default' }),
    trial: z.boolean().default(false),
    users: users.default([]),
    unknownUsers: unknownUsersPolicy.default('refuse').meta({ description: 'A spend by a user not in `users`: refused with 404 UNKNOWN_USER, or registers them as a member' }),
  }).meta({ id: 'CreateAccountRequest' });
export type CreateAccountBody = z.input<typeof CreateAccountRequest>;

const GrantView = z.object({
  id: z.string(),
  source: z.enum(GRANT_SOURCES),
  amount: credits,
  remaining: credits,
  held: credits,
  available: credits,
  status: z.enum(GRANT_STATUSES),
  effectiveAt: z.string(),
  expiresAt: z.string().nullable(),
  priority: z.number().int(),
  features: z.array(z.string()).nullable(),
});

const RenewalGrant = z.object({ grantId: z.string(), source: z.enum(GRANT_SOURCES), credits });

export const AccountResponse = z
  .object({
    accountId: z.string(),
    planId: z.string(),
    seats: z.number().int(),
    timeZone: z.string(),
    status: z.enum(['opening', 'active', 'cancelling', 'cancelled']),
    period: z.object({ start: z.string(), end: z.string(), daysLeft: z.number().int() }).nullable().meta({ description: 'Null while the account is opening' }),
    nextPlan: z.object({ planId: z.string(), seats: z.number().int() }).nullable(),
    balance: z.object({
      available: credits,
      held: credits,
      bySource: z.object(Object.fromEntries(GRANT_SOURCES.map((source) => [source, credits])) as Record<(typeof GRANT_SOURCES)[number], typeof credits>),
    }),
    grants: z.array(GrantView),
    renewal: z
      .object({
        at: z.string().meta({ description: "The period's end" }),
        grants: z.array(RenewalGrant).meta({ description: "Granted then: the next period's allowance, written ahead (none when the account is cancelling)" }),
        expires: z
          .array(RenewalGrant.extend({ expiresAt: z.string() }))
          .meta({ description: "Expired by then, with what is left of them: the allowance's remainder, a trial, any grant expiring by the period's end" }),
      })
      .nullable()
      .meta({ description: 'What the end of the period grants and expires; null while the account is opening' }),
  }).meta({ id: 'Account' });
export type AccountView = z.infer<typeof AccountResponse>;

export const CreateAccountResponse = AccountResponse.extend({
  trialGranted: z.boolean().meta({ description: 'Whether this subscription got the plan trial' }),
  trialNote: z.string().nullable().meta({ description: 'Why not, when it did not' }),
}).meta({ id: 'CreatedAccount' });
export type CreatedAccountView = z.infer<typeof CreateAccountResponse>;

export const ChangePlanRequest = z.strictObject({ planId, seats: seats.default(1) }).meta({ id: 'ChangePlanRequest' });
export type ChangePlanBody = z.input<typeof ChangePlanRequest>;
export const ChangePlanResponse = z
  .object({ effective: z.enum(CONTRACT_EFFECTS), planId: z.string(), seats: z.number().int(), grantedNow: credits, effectiveAt: z.string() }).meta({ id: 'ChangePlanResult' });
export type ChangePlanView = z.infer<typeof ChangePlanResponse>;

export const CancelAccountResponse = z.object({ status: z.enum(ACCOUNT_STATUSES), endsAt: z.string() }).meta({ id: 'CancelAccountResult' });
export type CancelAccountView = z.infer<typeof CancelAccountResponse>;

export const SetUserRequest = z.strictObject({ role, creditsAllowed: z.boolean() }).meta({ id: 'SetUserRequest' });
export type SetUserBody = z.input<typeof SetUserRequest>;
export const UserResponse = z.object({ accountId: z.string(), userId: z.string(), role, creditsAllowed: z.boolean() }).meta({ id: 'User' });
export type UserView = z.infer<typeof UserResponse>;
export const UsersResponse = z
  .object({
    accountId: z.string(),
    unknownUsers: unknownUsersPolicy,
    users: z.array(z.object({ userId: z.string(), role, creditsAllowed: z.boolean(), updatedAt: z.string() })),
  }).meta({ id: 'Users' });
export type UsersView = z.infer<typeof UsersResponse>;
export const AccountSettingsRequest = z
  .strictObject({
    unknownUsers: unknownUsersPolicy.optional(),
    lowBalanceCredits: credits.nullable().optional().meta({ description: 'balance.low fires when the available balance falls to or below this; null: 10 % of the period allowance' }),
  }).meta({ id: 'AccountSettingsRequest' });
export type AccountSettingsBody = z.input<typeof AccountSettingsRequest>;
export const AccountSettingsResponse = z
  .object({ accountId: z.string(), unknownUsers: unknownUsersPolicy, lowBalanceCredits: credits.nullable() }).meta({ id: 'AccountSettings' });
export type AccountSettingsView = z.infer<typeof AccountSettingsResponse>;

export const TopUpRequest = z
  .strictObject({ credits: positiveCredits, userId, idempotencyKey, expiresAt: isoInstant.optional() }).meta({ id: 'TopUpRequest' });
export type TopUpBody = z.input<typeof TopUpRequest>;
export const TopUpResponse = z
  .object({ grantId: z.string(), credits, expiresAt: z.string().nullable(), balance: z.object({ available: credits }) }).meta({ id: 'TopUpResult' });
export type TopUpView = z.infer<typeof TopUpResponse>;


export const AdjustmentRequest = z
  .discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('add'),
      source: z.enum(['promo', 'adjustment']).default('adjustment'),
      credits: positiveCredits,
      expiresAt: isoInstant.optional(),
      features: grantFeatures.optional().meta({ description: 'Only these features may spend the credits' }),
      ...attribution, idempotencyKey,
    }),
    z.strictObject({ action: z.literal('remove'), grantId, credits: positiveCredits, ...attribution, idempotencyKey }),
  ]).meta({ id: 'AdjustmentRequest' });
export type AdjustmentBody = z.input<typeof AdjustmentRequest>;
export const AdjustmentResponse = z
  .object({
    adjustmentId: z.string(),
    action: z.enum(['add', 'remove']),
    credits,
    grant: z.object({ grantId: z.string(), source: z.enum(GRANT_SOURCES), amount: credits, remaining: credits, effectiveAt: z.string(), expiresAt: z.string().nullable() }),
    balance: z.object({ available: credits }),
  }).meta({ id: 'Adjustment' });
export type AdjustmentView = z.infer<typeof AdjustmentResponse>;

export const RefundRequest = z
  .strictObject({ credits: positiveCredits.optional().meta({ description: 'Omitted: everything of the charge not refunded yet' }), ...attribution, idempotencyKey }).meta({ id: 'RefundRequest' });
export type RefundBody = z.input<typeof RefundRequest>;
export const RefundResponse = z
  .object({
    refundId: z.string(),
    chargeId: z.string(),
    credits: credits.meta({ description: 'Credits of the charge this refund covers: returned + expired' }),
    returned: credits.meta({ description: 'Put back into the grants the charge drew on' }),
    expired: credits.meta({ description: 'Drawn on grants that have expired since: reported, not put back (add them with an adjustment if you mean to)' }),
    grants: z.array(z.object({ grantId: z.string(), credits, returned: z.boolean() })),
    charge: z.object({ credits, refunded: credits, refundable: credits }),
    balance: z.object({ available: credits }),
  }).meta({ id: 'Refund' });
export type RefundView = z.infer<typeof RefundResponse>;

export const ContractRequest = z
  .strictObject({
    allowance: z
      .strictObject({ credits, perSeat: z.boolean().default(false) })
      .nullable()
      .default(null)
      .meta({ description: "The account's own allowance per period, in place of the plan's unrestricted one; null: the plan's" }),
    extraFeatures: extraFeatures.default([]).meta({ description: 'Features on top of the plan' }),
    effective: z.enum(CONTRACT_EFFECTS).default('next_period'),
    ...attribution, idempotencyKey,
  }).meta({ id: 'ContractRequest' });
export type ContractBody = z.input<typeof ContractRequest>;
export const ContractChangeResponse = z
  .object({
    contractId: z.string(),
    effective: z.enum(CONTRACT_EFFECTS),
    effectiveAt: z.string(),
    grantedNow: credits.meta({ description: 'Credits granted now for the rest of the period (an increase effective now)' }),
    nextAllowance: credits.meta({ description: "The next period's allowance under the new terms" }),
  }).meta({ id: 'ContractChange' });
export type ContractChangeView = z.infer<typeof ContractChangeResponse>;
const ContractTermsView = z.object({
  contractId: z.string(),
  allowance: z.object({ credits, perSeat: z.boolean() }).nullable(),
  extraFeatures: z.array(z.string()),
  effectiveFrom: z.string(),
  operator: z.string(),
  reason: z.string(),
});
export const ContractResponse = z
  .object({ accountId: z.string(), inForce: ContractTermsView.nullable(), scheduled: ContractTermsView.nullable() }).meta({ id: 'Contract' });
export type ContractView = z.infer<typeof ContractResponse>;


const ChargeDraw = z.object({ grantId: z.string(), source: grantSource, credits }).meta({ id: 'ChargeDraw' });

export const ChargeRequest = z
  .strictObject({ ...actionShape, userId, idempotencyKey })
  .refine(quantityOrSubjects, quantityOrSubjectsIssue).meta({ id: 'ChargeRequest' });
export type ChargeBody = z.input<typeof ChargeRequest>;
export const ChargeResponse = z
  .object({
    chargeId: z.string(),
    feature: z.string(),
    credits,
    billableQuantity: z.number().int(),
    freeQuantity: z.number().int(),
    balance: z.object({ available: credits }),
    occurredAt: z.string(),
    grants: z.array(ChargeDraw).meta({ description: 'Which grants paid, in spending order' }),
  }).meta({ id: 'Charge' });
export type ChargeView = z.infer<typeof ChargeResponse>;

export const EstimateRequest = z
  .strictObject({ ...actionShape, userId: userId.optional() })
  .refine(quantityOrSubjects, quantityOrSubjectsIssue).meta({ id: 'EstimateRequest' });
export type EstimateBody = z.input<typeof EstimateRequest>;
export const EstimateResponse = z
  .object({
    feature: z.string(),
    maxCredits: credits,
    billableQuantity: z.number().int().meta({ description: 'Units that would be charged: subjects inside the re-export window are free' }),
    dedupedQuantity: z.number().int().meta({ description: 'Units asked for, with repeated subjectIds counted once' }),
    available: credits,
    sufficient: z.boolean(),
  }).meta({ id: 'Estimate' });
export type EstimateView = z.infer<typeof EstimateResponse>;

export const UsageQuery = z
  .strictObject({
    from: isoInstant,
    to: isoInstant,
    groupBy: z.enum(USAGE_GROUPS).default('feature'),
  })
  .refine((query) => Date.parse(query.to) > Date.parse(query.from), { path: ['to'], message: 'must be after from' });
export type UsageParams = z.input<typeof UsageQuery>;
export const UsageResponse = z
  .object({
    groupBy: z.enum(USAGE_GROUPS),
    from: z.string(),
    to: z.string(),
    rows: z.array(
      z.object({ key: z.string(), credits, refunded: credits.meta({ description: 'Credits refunded in the range, of charges grouped under this key' }), quantity: z.number().int(), charges: z.number().int() }),
    ),
  }).meta({ id: 'Usage' });
export type UsageView = z.infer<typeof UsageResponse>;


const timeRange = { from: isoInstant.optional(), to: isoInstant.optional() };
const rangeInOrder = (query: { from?: string | undefined; to?: string | undefined }) => !query.from || !query.to || Date.parse(query.to) > Date.parse(query.from);
const rangeIssue = { path: ['to'], message: 'must be after from' };
/** Filters of the ledger explorer: each one given must match. */
const causeFilters = {
  feature: featureId.optional(),
  userId: userId.optional(),
  jobId: jobId.optional(),
  grantId: grantId.optional(),
  ...timeRange,
};

export const LedgerQuery = z
  .strictObject({ after: cursor, limit: pageLimit(LIMITS.maxPageSize), kind: z.enum(ENTRY_KINDS).optional(), operationId: chargeId.optional(), ...causeFilters })
  .refine(rangeInOrder, rangeIssue);
export type LedgerParams = z.input<typeof LedgerQuery>;
const EntryCause = z
  .object({
    kind: z.string().meta({ description: 'The operation that made the entry (charge, hold_charge, grant, top_up, hold, hold_extend, adjustment, refund), or release / expiry / revocation' }),
    idempotencyKey: z.string().nullable(),
    origin: z.enum(['client', 'engine']).nullable().meta({ description: "Whose key: a caller's, or the engine's own (allowances, job charges)" }),
    feature: z.string().nullable(),
    variant: z.string().nullable(),
    userId: z.string().nullable(),
    quantity: z.number().int().nullable(),
    jobId: z.string().nullable(),
    records: z.number().int().nullable().meta({ description: "Records charged, for a job's charge" }),
    refundOf: z.string().nullable().meta({ description: 'The charge a refund gives back' }),
    operator: z.string().nullable(),
    reason: z.string().meta({ description: 'In words; for adjustments and refunds the operator’s reason' }),
    period: z.object({ start: z.string(), end: z.string().nullable() }).nullable().meta({ description: "The grant's validity (an allowance's period), for grant entries and expiries" }),
  }).meta({ id: 'EntryCause' });
export const LedgerResponse = z
  .object({
    entries: z.array(
      z.object({
        entryId: z.number().int(),
        operationId: z.string().nullable(),
        grantId: z.string(),
        grantSource: grantSource,
        holdId: z.string().nullable(),
        kind: z.enum(ENTRY_KINDS),
        amount: signedCredits,
        heldChange: signedCredits,
        occurredAt: z.string(),
        cause: EntryCause,
      }).meta({ id: 'LedgerEntry' }),
    ),
    nextAfter: z.number().int().nullable().meta({ description: 'Pass as `after` for the next page; null on the last page' }),
  }).meta({ id: 'LedgerPage' });
export type LedgerPage = z.infer<typeof LedgerResponse>;

export const ChargesQuery = z
  .strictObject({ after: cursor, limit: pageLimit(LIMITS.maxPageSize), chargeId: chargeId.optional(), ...causeFilters })
  .refine(rangeInOrder, rangeIssue);
export type ChargesParams = z.input<typeof ChargesQuery>;
export const ChargesResponse = z
  .object({
    charges: z.array(
      z.object({
        chargeId: z.string(),
        kind: z.enum(['charge', 'hold_charge']).meta({ description: "hold_charge: charged on a hold (a job's records)" }),
        occurredAt: z.string(),
        feature: z.string(),
        variant: z.string().nullable(),
        userId: z.string(),
        quantity: z.number().int(),
        credits,
        refunded: credits,
        jobId: z.string().nullable(),
        idempotencyKey: z.string(),
        origin: z.enum(['client', 'engine']),
        grants: z.array(ChargeDraw),
      }).meta({ id: 'ChargeRecord' }),
    ),
    nextAfter: z.number().int().nullable().meta({ description: 'Pass as `after` for the next page; null on the last page' }),
  }).meta({ id: 'ChargePage' });
export type ChargePage = z.infer<typeof ChargesResponse>;

export const GrantsQuery = z.strictObject({
  after: cursor,
  limit: pageLimit(LIMITS.maxPageSize),
  status: z.enum(GRANT_STATUSES).optional(),
  source: grantSource.optional(),
});
export type GrantsParams = z.input<typeof GrantsQuery>;
export const GrantsResponse = z
  .object({
    grants: z.array(
      GrantView.extend({
        expired: credits.meta({ description: 'Written off when it expired or was revoked' }),
        operationId: z.string(),
        idempotencyKey: z.string(),
      }).meta({ id: 'GrantRecord' }),
    ),
    nextAfter: z.number().int().nullable(),
  }).meta({ id: 'GrantPage' });
export type GrantPage = z.infer<typeof GrantsResponse>;

export const StatementQuery = z.strictObject({
  period: z.union([z.literal('current'), isoInstant]).default('current').meta({ description: '`current`, or any instant of the period (its start, say)' }),
});
export type StatementParams = z.input<typeof StatementQuery>;
const bySource = z.object(Object.fromEntries(GRANT_SOURCES.map((source) => [source, credits])) as Record<(typeof GRANT_SOURCES)[number], typeof credits>);
const SpendLine = z.object({ key: z.string(), credits, quantity: z.number().int(), charges: z.number().int() });
export const StatementResponse = z
  .object({
    accountId: z.string(),
    timeZone: z.string(),
    period: z.object({ start: z.string(), end: z.string().nullable(), previousStart: z.string().nullable(), nextStart: z.string().nullable() }),
    asOf: z.string().meta({ description: "The closing instant: the period's end, or now while it runs" }),
    opening: z.object({ total: credits, bySource }),
    granted: z.object({ total: credits, bySource }),
    charged: z.object({ total: credits, byFeature: z.array(SpendLine), byUser: z.array(SpendLine) }),
    refunded: credits,
    adjusted: credits.meta({ description: 'Taken out by operators' }),
    expired: z.object({ total: credits, bySource }),
    holds: z.object({ placed: credits, released: credits, chargedFromHolds: credits, heldAtClose: credits }),
    closing: z.object({ total: credits, bySource }).meta({ description: 'opening + granted − charged + refunded − adjusted − expired, exactly' }),
  }).meta({ id: 'Statement' });
export type StatementView = z.infer<typeof StatementResponse>;

// ---- jobs

export const JobRecord = jobRecord;
export type JobRecordBody = z.input<typeof JobRecord>;

export const CreateJobRequest = z
  .strictObject({
    jobId: jobId.optional(),
    feature: featureId,
    userId,
    idempotencyKey,
    maxCredits: positiveCredits.optional().meta({ description: 'Credit cap for the whole job' }),
    records: z.array(JobRecord).max(JOB_LIMITS.maxRecordsPerAppend).default([]),
    start: z.boolean().default(false).meta({ description: 'Start the job right away' }),
  }).meta({ id: 'CreateJobRequest' });
export type CreateJobBody = z.input<typeof CreateJobRequest>;

export const AppendRecordsRequest = z.array(JobRecord).min(1).max(JOB_LIMITS.maxRecordsPerAppend).meta({ id: 'JobRecords' });
export const AppendRecordsResponse = z.object({ jobId: z.string(), added: z.number().int(), total: z.number().int() }).meta({ id: 'AppendRecordsResult' });
export type AppendRecordsView = z.infer<typeof AppendRecordsResponse>;

export const JobResponse = z
  .object({
    jobId: z.string(),
    accountId: z.string(),
    feature: z.string(),
    userId: z.string(),
    status: z.enum(JOB_STATUSES),
    pauseReason: z.enum(PAUSE_REASONS).nullable(),
    stopReason: z.string().nullable(),
    maxCredits: credits.nullable(),
    progress: z.object({ total: z.number().int(), processed: z.number().int(), verified: z.number().int(), notFound: z.number().int(), failed: z.number().int() }),
    credits: z.object({
      reserved: credits,
      charged: credits,
      released: credits,
      expired: credits,
      held: credits,
      needed: credits.meta({
        description: "Still to reserve for its pending records: each at full price, less what the hold has, within maxCredits (0 once ended). For a paused job, what a resume reserves; a resume runs it again once the hold pays for one record",
      }),
      accountAvailable: credits.meta({ description: "The account's available balance now" }),
    }),
    timeZone: z.string().meta({ description: "The account's time zone (instants here are UTC)" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  }).meta({ id: 'Job' });
export type JobView = z.infer<typeof JobResponse>;

export const JobListQuery = z.strictObject({ status: z.enum(JOB_STATUSES).optional(), limit: pageLimit(JOB_LIMITS.maxResultsPage) });
export type JobListParams = z.input<typeof JobListQuery>;
export const JobListResponse = z.object({ jobs: z.array(JobResponse) }).meta({ id: 'JobList' });
export type JobList = z.infer<typeof JobListResponse>;

export const JobResultsQuery = z.strictObject({ after: cursor, limit: pageLimit(JOB_LIMITS.maxResultsPage) });
export type JobResultsParams = z.input<typeof JobResultsQuery>;
export const JobResultsResponse = z
  .object({
    results: z.array(z.object({ seq: z.number().int(), recordId: z.string(), outcome: z.string(), data: z.unknown(), charged: credits })),
    nextAfter: z.number().int().nullable(),
  }).meta({ id: 'JobResults' });
export type JobResultsPage = z.infer<typeof JobResultsResponse>;

// ---- events

export const EventsQuery = z.strictObject({ after: cursor, limit: pageLimit(1_000), accountId: accountId.optional() });
export type EventsParams = z.input<typeof EventsQuery>;
export const EventsResponse = z
  .object({
    events: z.array(
      z.object({ eventId: z.string(), type: z.string(), accountId: z.string(), jobId: z.string().nullable(), occurredAt: z.string(), data: z.record(z.string(), z.unknown()) }),
    ),
    nextAfter: z.number().int(),
  }).meta({ id: 'EventPage' });
export type EventsPage = z.infer<typeof EventsResponse>;

// ---- tokens

export const CreateApiTokenRequest = z
  .strictObject({
    name: z.string().min(1).max(128).meta({ description: 'What the token is for, to recognise it in the list', example: 'billing-backend' }),
    scope: apiScope.meta({ description: 'admin: everything; service: charges, estimates, jobs, top-ups, session tokens and reads; read: reads only' }),
  }).meta({ id: 'CreateApiTokenRequest' });
export type CreateApiTokenBody = z.input<typeof CreateApiTokenRequest>;
export const ApiTokenResponse = z
  .object({ tokenId: z.string(), name: z.string(), scope: apiScope, createdAt: z.string(), revokedAt: z.string().nullable() }).meta({ id: 'ApiToken' });
export type ApiTokenView = z.infer<typeof ApiTokenResponse>;
export const CreatedApiTokenResponse = ApiTokenResponse.extend({
  token: z.string().meta({ description: 'The bearer token. Shown this once: only its hash is stored' }),
}).meta({ id: 'CreatedApiToken' });
export type CreatedApiTokenView = z.infer<typeof CreatedApiTokenResponse>;
export const ApiTokensResponse = z.object({ tokens: z.array(ApiTokenResponse) }).meta({ id: 'ApiTokenList' });
export type ApiTokenList = z.infer<typeof ApiTokensResponse>;

export const SessionTokenRequest = z
  .strictObject({
    userId: userId.optional().meta({ description: 'The user the token acts for: its top-ups are theirs. Required with allowTopUp' }),
    allowTopUp: z.boolean().default(false).meta({ description: 'The token may also buy a top-up for the account, as its user (who must be an admin of the account)' }),
    expiresInSeconds: z
      .number()
      .int()
      .min(SESSION_TOKEN_LIMITS.minSeconds)
      .max(SESSION_TOKEN_LIMITS.maxSeconds)
      .default(SESSION_TOKEN_LIMITS.defaultSeconds)
      .meta({ description: `Seconds the token lasts (${SESSION_TOKEN_LIMITS.defaultSeconds} by default)` }),
  })
  .refine((body) => !body.allowTopUp || body.userId !== undefined, { message: 'allowTopUp needs the userId of the admin who buys', path: ['userId'] })
  .meta({ id: 'SessionTokenRequest' });
export type SessionTokenBody = z.input<typeof SessionTokenRequest>;
export const SessionTokenResponse = z
  .object({
    token: z.string().meta({ description: 'A signed bearer token for this account only: its reads (and, with allowTopUp, a top-up by its user) until expiresAt' }),
    accountId: z.string(),
    userId: z.string().nullable(),
    allowTopUp: z.boolean(),
    expiresAt: z.string(),
  }).meta({ id: 'SessionToken' });
export type SessionTokenView = z.infer<typeof SessionTokenResponse>;

export const HealthResponse = z.object({ status: z.literal('ok') });
