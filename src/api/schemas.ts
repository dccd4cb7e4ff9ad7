import { z } from '@hono/zod-openapi';
import { GRANT_SOURCES } from '../catalog/schema.js';
import { JOB_LIMITS, JOB_STATUSES, PAUSE_REASONS, jobId as jobIdSchema } from '../jobs/inputs.js';
import { LIMITS, USAGE_GROUPS, accountId as accountIdSchema, featureId, idempotencyKey, role, timeZone, unknownUsersPolicy, userId } from '../ledger/inputs.js';
import { CreditAmountError, parseCredits } from '../money.js';

/**
 * The API's request and response shapes: the routes validate with them, the OpenAPI document is
 * generated from them, and the typed client shares their types. Amounts are credits as JSON
 * numbers with at most 6 decimals; the ledger's micros never leave the server.
 */

function creditAmount(options: { positive: boolean }) {
  return z
    .number({ error: 'must be a number of credits' })
    .superRefine((value, ctx) => {
      try {
        const micros = parseCredits(value);
        if (options.positive && micros === 0) ctx.addIssue({ code: 'custom', message: 'must be more than 0 credits' });
      } catch (error) {
        if (!(error instanceof CreditAmountError)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message });
      }
    })
    .openapi({ type: 'number', example: 12.5, description: 'Credits, at most 6 decimals' });
}
export const credits = creditAmount({ positive: false });
export const positiveCredits = creditAmount({ positive: true });
/** A change of credits in a ledger entry: negative when credits leave a grant. */
const signedCredits = z.number().openapi({ example: -2.5, description: 'Credits, at most 6 decimals; negative when credits leave a grant' });

const isoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time such as "2026-01-31T12:00:00Z"' }).openapi({ example: '2026-01-31T12:00:00Z' });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'INSUFFICIENT_CREDITS' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .openapi('Error');
export type ErrorBody = z.infer<typeof ErrorResponse>;

// Schemas made elsewhere are cloned before .openapi(): zod copies the method onto each schema when it is
// created, so one created before @hono/zod-openapi was first imported (as when a client's user loaded
// src/ledger/inputs first) lacks it.
export const AccountIdParams = z.object({ accountId: accountIdSchema.clone().openapi({ param: { name: 'accountId', in: 'path' }, example: 'acme' }) });
export const AccountUserParams = AccountIdParams.extend({ userId: userId.clone().openapi({ param: { name: 'userId', in: 'path' }, example: 'alice' }) });
export const JobIdParams = z.object({ jobId: jobIdSchema.clone().openapi({ param: { name: 'jobId', in: 'path' }, example: 'import-2026-01' }) });

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
  })
  .openapi('Catalog');
export type CatalogView = z.infer<typeof CatalogResponse>;

// ---- accounts

export const CreateAccountRequest = z
  .strictObject({
    accountId: accountIdSchema,
    planId: z.string().min(1).max(64),
    seats: z.number().int().min(1).max(100_000).default(1),
    timeZone: timeZone.default('UTC'),
    startAt: isoInstant.optional().openapi({ description: 'When the first period starts; now by default' }),
    trial: z.boolean().default(false),
    users: z.array(z.strictObject({ userId, role, creditsAllowed: z.boolean().default(true) })).max(100).default([]),
    unknownUsers: unknownUsersPolicy.default('refuse').openapi({ description: 'A spend by a user not in `users`: refused with 404 UNKNOWN_USER, or registers them as a member' }),
  })
  .openapi('CreateAccountRequest');
export type CreateAccountBody = z.input<typeof CreateAccountRequest>;

const GrantView = z.object({
  id: z.string(),
  source: z.enum(GRANT_SOURCES),
  amount: credits,
  remaining: credits,
  held: credits,
  available: credits,
  status: z.enum(['active', 'pending', 'expired', 'depleted']),
  effectiveAt: z.string(),
  expiresAt: z.string().nullable(),
  priority: z.number().int(),
  features: z.array(z.string()).nullable(),
});

export const AccountResponse = z
  .object({
    accountId: z.string(),
    planId: z.string(),
    seats: z.number().int(),
    timeZone: z.string(),
    status: z.enum(['opening', 'active', 'cancelling', 'cancelled']),
    period: z.object({ start: z.string(), end: z.string(), daysLeft: z.number().int() }).nullable().openapi({ description: 'Null while the account is opening' }),
    nextPlan: z.object({ planId: z.string(), seats: z.number().int() }).nullable(),
    balance: z.object({
      available: credits,
      held: credits,
      bySource: z.object(Object.fromEntries(GRANT_SOURCES.map((source) => [source, credits])) as Record<(typeof GRANT_SOURCES)[number], typeof credits>),
    }),
    grants: z.array(GrantView),
  })
  .openapi('Account');
export type AccountView = z.infer<typeof AccountResponse>;

export const CreateAccountResponse = AccountResponse.extend({
  trialGranted: z.boolean().openapi({ description: 'Whether this subscription got the plan trial' }),
  trialNote: z.string().nullable().openapi({ description: 'Why not, when it did not' }),
}).openapi('CreatedAccount');
export type CreatedAccountView = z.infer<typeof CreateAccountResponse>;

export const ChangePlanRequest = z.strictObject({ planId: z.string().min(1).max(64), seats: z.number().int().min(1).max(100_000).default(1) }).openapi('ChangePlanRequest');
export type ChangePlanBody = z.input<typeof ChangePlanRequest>;
export const ChangePlanResponse = z
  .object({ effective: z.enum(['now', 'next_period']), planId: z.string(), seats: z.number().int(), grantedNow: credits, effectiveAt: z.string() })
  .openapi('ChangePlanResult');
export type ChangePlanView = z.infer<typeof ChangePlanResponse>;

export const CancelAccountResponse = z.object({ status: z.enum(['active', 'cancelling', 'cancelled']), endsAt: z.string() }).openapi('CancelAccountResult');
export type CancelAccountView = z.infer<typeof CancelAccountResponse>;

export const SetUserRequest = z.strictObject({ role, creditsAllowed: z.boolean() }).openapi('SetUserRequest');
export type SetUserBody = z.input<typeof SetUserRequest>;
export const UserResponse = z.object({ accountId: z.string(), userId: z.string(), role, creditsAllowed: z.boolean() }).openapi('User');
export type UserView = z.infer<typeof UserResponse>;
export const UsersResponse = z
  .object({
    accountId: z.string(),
    unknownUsers: unknownUsersPolicy,
    users: z.array(z.object({ userId: z.string(), role, creditsAllowed: z.boolean(), updatedAt: z.string() })),
  })
  .openapi('Users');
export type UsersView = z.infer<typeof UsersResponse>;
export const AccountSettingsRequest = z
  .strictObject({
    unknownUsers: unknownUsersPolicy.optional(),
    lowBalanceCredits: credits.nullable().optional().openapi({ description: 'balance.low fires when the available balance falls to or below this; null: 10 % of the period allowance' }),
  })
  .openapi('AccountSettingsRequest');
export type AccountSettingsBody = z.input<typeof AccountSettingsRequest>;
export const AccountSettingsResponse = z
  .object({ accountId: z.string(), unknownUsers: unknownUsersPolicy, lowBalanceCredits: credits.nullable() })
  .openapi('AccountSettings');
export type AccountSettingsView = z.infer<typeof AccountSettingsResponse>;

export const TopUpRequest = z
  .strictObject({ credits: positiveCredits, userId, idempotencyKey, expiresAt: isoInstant.optional() })
  .openapi('TopUpRequest');
export type TopUpBody = z.input<typeof TopUpRequest>;
export const TopUpResponse = z
  .object({ grantId: z.string(), credits, expiresAt: z.string().nullable(), balance: z.object({ available: credits }) })
  .openapi('TopUpResult');
export type TopUpView = z.infer<typeof TopUpResponse>;

const operatorShape = {
  operator: z.string().min(1).max(128).openapi({ description: 'Who does it (an operator id or email)', example: 'jane@support' }),
  reason: z.string().min(1).max(500).openapi({ example: 'service outage on 2026-11-28' }),
  idempotencyKey,
};

export const AdjustmentRequest = z
  .discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('add'),
      source: z.enum(['promo', 'adjustment']).default('adjustment'),
      credits: positiveCredits,
      expiresAt: isoInstant.optional(),
      features: z.array(featureId).min(1).max(64).optional().openapi({ description: 'Only these features may spend the credits' }),
      ...operatorShape,
    }),
    z.strictObject({ action: z.literal('remove'), grantId: z.string().regex(/^\d{1,18}$/, 'must be a grant id'), credits: positiveCredits, ...operatorShape }),
  ])
  .openapi('AdjustmentRequest');
export type AdjustmentBody = z.input<typeof AdjustmentRequest>;
export const AdjustmentResponse = z
  .object({
    adjustmentId: z.string(),
    action: z.enum(['add', 'remove']),
    credits,
    grant: z.object({ grantId: z.string(), source: z.enum(GRANT_SOURCES), amount: credits, remaining: credits, effectiveAt: z.string(), expiresAt: z.string().nullable() }),
    balance: z.object({ available: credits }),
  })
  .openapi('Adjustment');
export type AdjustmentView = z.infer<typeof AdjustmentResponse>;

export const ChargeParams = AccountIdParams.extend({ chargeId: z.string().regex(/^\d{1,18}$/, 'must be a charge id').openapi({ param: { name: 'chargeId', in: 'path' }, example: '42' }) });
export const RefundRequest = z
  .strictObject({ credits: positiveCredits.optional().openapi({ description: 'Omitted: everything of the charge not refunded yet' }), ...operatorShape })
  .openapi('RefundRequest');
export type RefundBody = z.input<typeof RefundRequest>;
export const RefundResponse = z
  .object({
    refundId: z.string(),
    chargeId: z.string(),
    credits: credits.openapi({ description: 'Credits of the charge this refund covers: returned + expired' }),
    returned: credits.openapi({ description: 'Put back into the grants the charge drew on' }),
    expired: credits.openapi({ description: 'Drawn on grants that have expired since: reported, not put back (add them with an adjustment if you mean to)' }),
    grants: z.array(z.object({ grantId: z.string(), credits, returned: z.boolean() })),
    charge: z.object({ credits, refunded: credits, refundable: credits }),
    balance: z.object({ available: credits }),
  })
  .openapi('Refund');
export type RefundView = z.infer<typeof RefundResponse>;

export const ContractRequest = z
  .strictObject({
    allowance: z
      .strictObject({ credits, perSeat: z.boolean().default(false) })
      .nullable()
      .default(null)
      .openapi({ description: "The account's own allowance per period, in place of the plan's unrestricted one; null: the plan's" }),
    extraFeatures: z.array(featureId).max(64).default([]).openapi({ description: 'Features on top of the plan' }),
    effective: z.enum(['now', 'next_period']).default('next_period'),
    ...operatorShape,
  })
  .openapi('ContractRequest');
export type ContractBody = z.input<typeof ContractRequest>;
export const ContractChangeResponse = z
  .object({
    contractId: z.string(),
    effective: z.enum(['now', 'next_period']),
    effectiveAt: z.string(),
    grantedNow: credits.openapi({ description: 'Credits granted now for the rest of the period (an increase effective now)' }),
    nextAllowance: credits.openapi({ description: "The next period's allowance under the new terms" }),
  })
  .openapi('ContractChange');
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
  .object({ accountId: z.string(), inForce: ContractTermsView.nullable(), scheduled: ContractTermsView.nullable() })
  .openapi('Contract');
export type ContractView = z.infer<typeof ContractResponse>;

const actionShape = {
  feature: featureId,
  variant: z.string().min(1).max(64).optional(),
  quantity: z.number().int().min(1).max(LIMITS.maxQuantity).optional().openapi({ description: 'Units to charge; 1 when neither quantity nor subjectIds is given' }),
  subjectIds: z.array(z.string().min(1).max(256)).min(1).max(LIMITS.maxSubjectsPerCharge).optional().openapi({ description: 'One unit per subject; subjects inside the re-export window are free' }),
};
const quantityOrSubjects = (input: { quantity?: number | undefined; subjectIds?: string[] | undefined }) =>
  input.quantity === undefined || input.subjectIds === undefined;
const quantityOrSubjectsIssue = { message: 'give either quantity or subjectIds, not both', path: ['quantity'] };

export const ChargeRequest = z
  .strictObject({ ...actionShape, userId, idempotencyKey })
  .refine(quantityOrSubjects, quantityOrSubjectsIssue)
  .openapi('ChargeRequest');
export type ChargeBody = z.input<typeof ChargeRequest>;
export const ChargeResponse = z
  .object({
    chargeId: z.string(),
    feature: z.string(),
    credits,
    billableQuantity: z.number().int(),
    freeQuantity: z.number().int(),
    balance: z.object({ available: credits }),
  })
  .openapi('Charge');
export type ChargeView = z.infer<typeof ChargeResponse>;

export const EstimateRequest = z
  .strictObject({ ...actionShape, userId: userId.optional() })
  .refine(quantityOrSubjects, quantityOrSubjectsIssue)
  .openapi('EstimateRequest');
export type EstimateBody = z.input<typeof EstimateRequest>;
export const EstimateResponse = z
  .object({
    feature: z.string(),
    maxCredits: credits,
    billableQuantity: z.number().int().openapi({ description: 'Units that would be charged: subjects inside the re-export window are free' }),
    dedupedQuantity: z.number().int().openapi({ description: 'Units asked for, with repeated subjectIds counted once' }),
    available: credits,
    sufficient: z.boolean(),
  })
  .openapi('Estimate');
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
      z.object({ key: z.string(), credits, refunded: credits.openapi({ description: 'Credits refunded in the range, of charges grouped under this key' }), quantity: z.number().int(), charges: z.number().int() }),
    ),
  })
  .openapi('Usage');
export type UsageView = z.infer<typeof UsageResponse>;

/** A whole number in a query string: digits only, so "0x10", "1e3" or " 5" are refused rather than guessed at. */
const queryInteger = (min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^\d{1,16}$/, 'must be a whole number written in digits')])
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback)
    .openapi({ type: 'integer', minimum: min, maximum: max, default: fallback });
const pageLimit = (max: number) => queryInteger(1, max, 100);
const cursor = queryInteger(0, Number.MAX_SAFE_INTEGER, 0);

export const LedgerQuery = z.strictObject({ after: cursor, limit: pageLimit(LIMITS.maxPageSize) });
export type LedgerParams = z.input<typeof LedgerQuery>;
export const LedgerResponse = z
  .object({
    entries: z.array(
      z.object({
        entryId: z.number().int(),
        operationId: z.string().nullable(),
        grantId: z.string(),
        holdId: z.string().nullable(),
        kind: z.enum(['grant', 'charge', 'hold', 'release', 'expire', 'adjust', 'refund']),
        amount: signedCredits,
        heldChange: signedCredits,
        occurredAt: z.string(),
      }),
    ),
    nextAfter: z.number().int().nullable().openapi({ description: 'Pass as `after` for the next page; null on the last page' }),
  })
  .openapi('LedgerPage');
export type LedgerPage = z.infer<typeof LedgerResponse>;

// ---- jobs

export const JobRecord = z.strictObject({
  recordId: z.string().min(1).max(256),
  input: z.unknown().optional().openapi({ description: `Provider input, at most ${JOB_LIMITS.maxRecordInputBytes} bytes of JSON` }),
});
export type JobRecordBody = z.input<typeof JobRecord>;

export const CreateJobRequest = z
  .strictObject({
    jobId: jobIdSchema.optional(),
    feature: featureId,
    userId,
    idempotencyKey,
    maxCredits: positiveCredits.optional().openapi({ description: 'Credit cap for the whole job' }),
    records: z.array(JobRecord).max(JOB_LIMITS.maxRecordsPerAppend).default([]),
    start: z.boolean().default(false).openapi({ description: 'Start the job right away' }),
  })
  .openapi('CreateJobRequest');
export type CreateJobBody = z.input<typeof CreateJobRequest>;

export const AppendRecordsRequest = z.array(JobRecord).min(1).max(JOB_LIMITS.maxRecordsPerAppend).openapi('JobRecords');
export const AppendRecordsResponse = z.object({ jobId: z.string(), added: z.number().int(), total: z.number().int() }).openapi('AppendRecordsResult');
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
    credits: z.object({ reserved: credits, charged: credits, released: credits, expired: credits, held: credits }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Job');
export type JobView = z.infer<typeof JobResponse>;

export const JobListQuery = z.strictObject({ status: z.enum(JOB_STATUSES).optional(), limit: pageLimit(JOB_LIMITS.maxResultsPage) });
export type JobListParams = z.input<typeof JobListQuery>;
export const JobListResponse = z.object({ jobs: z.array(JobResponse) }).openapi('JobList');
export type JobList = z.infer<typeof JobListResponse>;

export const JobResultsQuery = z.strictObject({ after: cursor, limit: pageLimit(JOB_LIMITS.maxResultsPage) });
export type JobResultsParams = z.input<typeof JobResultsQuery>;
export const JobResultsResponse = z
  .object({
    results: z.array(z.object({ seq: z.number().int(), recordId: z.string(), outcome: z.string(), data: z.unknown(), charged: credits })),
    nextAfter: z.number().int().nullable(),
  })
  .openapi('JobResults');
export type JobResultsPage = z.infer<typeof JobResultsResponse>;

// ---- events

export const EventsQuery = z.strictObject({ after: cursor, limit: pageLimit(1_000), accountId: accountIdSchema.optional() });
export type EventsParams = z.input<typeof EventsQuery>;
export const EventsResponse = z
  .object({
    events: z.array(
      z.object({ eventId: z.string(), type: z.string(), accountId: z.string(), jobId: z.string().nullable(), occurredAt: z.string(), data: z.record(z.string(), z.unknown()) }),
    ),
    nextAfter: z.number().int(),
  })
  .openapi('EventPage');
export type EventsPage = z.infer<typeof EventsResponse>;

export const HealthResponse = z.object({ status: z.literal('ok') });
