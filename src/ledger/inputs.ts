import { z } from 'zod';
import {
  ACCOUNT_STATUSES,
  CONTRACT_EFFECTS,
  ENTRY_KINDS,
  GRANT_STATUSES,
  USAGE_GROUPS,
  accountId,
  actionShape,
  attribution,
  chargeId,
  extraFeatures,
  featureId,
  grantFeatures,
  grantId,
  grantSource,
  holdId,
  idempotencyKey,
  jobId,
  planId,
  quantityOrSubjects,
  quantityOrSubjectsIssue,
  role,
  seats,
  timeZone,
  unknownUsersPolicy,
  userId,
  users,
} from '../contract/fields.js';
import { LIMITS } from '../contract/limits.js';
import { MAX_MICROS, type Micros } from '../money.js';
import { LedgerError } from './errors.js';

/**
 * The ledger's inputs: the contract's fields (src/contract/fields.ts) with amounts in micros and
 * instants as Dates, as the API, the jobs and the workflows hand them over.
 */

/**
 * Whose key space an idempotency key belongs to: a client's (the API's callers) or the engine's own
 * (allowances, trials, job holds and record charges, built in keys.ts). The two never collide:
 * uniqueness is per account, origin and key.
 */
export const keyOrigin = z.enum(['client', 'engine']).default('client');
export type KeyOrigin = z.infer<typeof keyOrigin>;
const keyed = { idempotencyKey, origin: keyOrigin };
/** An amount the caller already holds as `Micros` (src/money.ts): the type says the unit, the check its range. */
function microsAmount(min: number) {
  return z.custom<Micros>((value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= MAX_MICROS, {
    message: `must be a whole number of micro-credits from ${min} to ${MAX_MICROS}`,
  });
}
export const micros = microsAmount(0);
export const positiveMicros = microsAmount(1);
export const instant = z.date().refine((date) => !Number.isNaN(date.getTime()), 'must be a valid date');

export const createAccountInput = z.strictObject({
  accountId,
  planId,
  seats: seats.default(1),
  timeZone: timeZone.default('UTC'),
  users: users.default([]),
  unknownUsers: unknownUsersPolicy.default('refuse'),
  now: instant,
});

/** An account the account workflow opens: created, or put on this plan and active (a returning one). */
export const activateAccountInput = createAccountInput.pick({ accountId: true, planId: true, seats: true, timeZone: true, now: true });

export const accountSettingsInput = z.strictObject({ accountId, unknownUsers: unknownUsersPolicy.optional(), lowBalanceMicros: micros.nullable().optional() });

export const setUserInput = z.strictObject({ accountId, userId, role, creditsAllowed: z.boolean(), now: instant });

export const grantInput = z
  .strictObject({
    accountId,
    source: grantSource.exclude(['purchase']),
    credits: positiveMicros,
    effectiveAt: instant,
    expiresAt: instant.optional(),
    priority: z.number().int().min(0).max(LIMITS.maxGrantPriority).optional(),
    features: grantFeatures.optional(),
    ...keyed,
    now: instant,
  })
  .refine((input) => !input.expiresAt || input.expiresAt > input.effectiveAt, {
    path: ['expiresAt'],
    message: 'must be after effectiveAt',
  });

export const topUpInput = z
  .strictObject({ accountId, userId, credits: positiveMicros, expiresAt: instant.optional(), ...keyed, now: instant })
  .refine((input) => !input.expiresAt || input.expiresAt > input.now, { path: ['expiresAt'], message: 'must be in the future' });

const chargeShape = { accountId, userId, ...actionShape, now: instant };

export const chargeInput = z.strictObject({ ...chargeShape, ...keyed }).refine(quantityOrSubjects, quantityOrSubjectsIssue);

export const estimateInput = z.strictObject({ ...chargeShape, userId: userId.optional() }).refine(quantityOrSubjects, quantityOrSubjectsIssue);

export const reserveInput = z.strictObject({
  accountId,
  userId,
  feature: featureId,
  jobId: z.string().min(1).max(128).optional(),
  maxCredits: positiveMicros,
  ...keyed,
  now: instant,
});

export const extendHoldInput = z.strictObject({ accountId, holdId, maxCredits: positiveMicros, ...keyed, now: instant });

export const chargeHoldInput = z.strictObject({
  accountId,
  holdId,
  quantity: z.number().int().min(1).max(LIMITS.maxQuantity).default(1),
  ...keyed,
  now: instant,
});

export const accountStatus = z.enum(ACCOUNT_STATUSES);
export const setAccountPlanInput = z.strictObject({
  accountId,
  planId,
  seats,
  status: accountStatus,
  now: instant,
});

export const holdRefInput = z.strictObject({ accountId, holdId, now: instant });
export const expireGrantInput = z.strictObject({ accountId, grantId, now: instant });
export const accountRefInput = z.strictObject({ accountId });
/** Accounts whose id starts with `prefix`, in id order after `afterAccountId`. */
export const accountsInput = z.strictObject({
  prefix: z.string().max(128).default(''),
  afterAccountId: accountId.optional(),
  limit: z.number().int().min(1).max(LIMITS.maxPageSize).default(100),
});
export const accountAtInput = z.strictObject({ accountId, now: instant });

export const usageInput = z
  .strictObject({ accountId, from: instant, to: instant, groupBy: z.enum(USAGE_GROUPS) })
  .refine((input) => input.to > input.from, { path: ['to'], message: 'must be after from' });

const page = { limit: z.number().int().min(1).max(LIMITS.maxPageSize).default(100) };
const cursorAfter = z.number().int().min(0).default(0);
const timeRange = { from: instant.optional(), to: instant.optional() };
const rangeInOrder = (input: { from?: Date | undefined; to?: Date | undefined }) => !input.from || !input.to || input.to > input.from;
const rangeIssue = { path: ['to'], message: 'must be after from' };
/** What the explorer narrows entries and charges by: each filter given must match. */
const causeFilters = { feature: featureId.optional(), userId: userId.optional(), jobId: jobId.optional(), grantId: grantId.optional(), ...timeRange };

export const entriesInput = z
  .strictObject({ accountId, afterEntryId: cursorAfter, ...page, kind: z.enum(ENTRY_KINDS).optional(), operationId: chargeId.optional(), ...causeFilters })
  .refine(rangeInOrder, rangeIssue);
export const chargesInput = z
  .strictObject({ accountId, afterChargeId: cursorAfter, ...page, chargeId: chargeId.optional(), ...causeFilters })
  .refine(rangeInOrder, rangeIssue);
export const grantsInput = z.strictObject({
  accountId,
  now: instant,
  afterGrantId: cursorAfter,
  ...page,
  status: z.enum(GRANT_STATUSES).optional(),
  source: grantSource.optional(),
});
/** The period containing `at` (any instant of it), as of `now`. */
export const statementInput = z.strictObject({ accountId, at: instant, now: instant });

/** Parses an operation's input, turning every schema problem into one VALIDATION_FAILED error. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  throw new LedgerError('VALIDATION_FAILED', `invalid input: ${summary}`, { issues });
}

export const adjustmentInput = z.discriminatedUnion('action', [
  z
    .strictObject({
      accountId,
      action: z.literal('add'),
      source: z.enum(['promo', 'adjustment']).default('adjustment'),
      credits: positiveMicros,
      expiresAt: instant.optional(),
      features: grantFeatures.optional(),
      ...attribution,
      ...keyed,
      now: instant,
    })
    .refine((input) => !input.expiresAt || input.expiresAt > input.now, { path: ['expiresAt'], message: 'must be in the future' }),
  z.strictObject({ accountId, action: z.literal('remove'), grantId, credits: positiveMicros, ...attribution, ...keyed, now: instant }),
]);

export const refundInput = z.strictObject({
  accountId,
  chargeId,
  /** Omitted: everything of the charge not refunded yet. */
  credits: positiveMicros.optional(),
  ...attribution,
  ...keyed,
  now: instant,
});

export const contractInput = z.strictObject({
  accountId,
  /** Null: the plan's allowance applies. */
  allowance: z.strictObject({ credits: micros, perSeat: z.boolean().default(false) }).nullable(),
  extraFeatures: extraFeatures.default([]),
  /** What the caller asked for; the account workflow turns it into `effectiveFrom`. */
  effective: z.enum(CONTRACT_EFFECTS),
  effectiveFrom: instant,
  ...attribution,
  ...keyed,
  now: instant,
});
