import { IANAZone } from 'luxon';
import { z } from 'zod';
import { MAX_MICROS } from '../money.js';
import { GRANT_SOURCES } from '../catalog/schema.js';
import { LedgerError } from './errors.js';

/** Limits on every input: nothing unbounded reaches a query. */
export const LIMITS = {
  maxQuantity: 1_000_000,
  maxSubjectsPerCharge: 10_000,
  maxUsersPerAccount: 10_000,
  maxPageSize: 1_000,
} as const;

export const accountId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, 'must be 1-128 letters, digits or _.:@- and start with a letter or digit');
export const userId = z.string().min(1).max(128);
export const featureId = z.string().min(1).max(64);
export const idempotencyKey = z.string().min(1).max(256);
/**
 * Whose key space an idempotency key belongs to: a client's (the API's callers) or the engine's own
 * (allowances, trials, job holds and record charges, built in keys.ts). The two never collide:
 * uniqueness is per account, origin and key.
 */
export const keyOrigin = z.enum(['client', 'engine']).default('client');
export type KeyOrigin = z.infer<typeof keyOrigin>;
const keyed = { idempotencyKey, origin: keyOrigin };
export const micros = z.number().int().min(0).max(MAX_MICROS);
export const positiveMicros = micros.min(1);
export const instant = z.date().refine((date) => !Number.isNaN(date.getTime()), 'must be a valid date');
export const timeZone = z.string().refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as "Europe/Paris"');
export const role = z.enum(['admin', 'member']);
/** What a spend by a user the account has not registered does: refused (UNKNOWN_USER), or registers them as a member. */
export const UNKNOWN_USERS_POLICIES = ['refuse', 'register'] as const;
export const unknownUsersPolicy = z.enum(UNKNOWN_USERS_POLICIES);
export type UnknownUsersPolicy = z.infer<typeof unknownUsersPolicy>;
export const grantSource = z.enum(GRANT_SOURCES);
export const holdId = z.string().regex(/^\d{1,18}$/, 'must be a hold id');
export const grantId = z.string().regex(/^\d{1,18}$/, 'must be a grant id');

export const createAccountInput = z.strictObject({
  accountId,
  planId: z.string().min(1).max(64),
  seats: z.number().int().min(1).max(100_000).default(1),
  timeZone: timeZone.default('UTC'),
  users: z
    .array(z.strictObject({ userId, role, creditsAllowed: z.boolean().default(true) }))
    .max(LIMITS.maxUsersPerAccount)
    .default([]),
  unknownUsers: unknownUsersPolicy.default('refuse'),
  now: instant,
});

export const accountSettingsInput = z.strictObject({ accountId, unknownUsers: unknownUsersPolicy.optional(), lowBalanceMicros: micros.nullable().optional() });

export const setUserInput = z.strictObject({ accountId, userId, role, creditsAllowed: z.boolean(), now: instant });

export const grantInput = z
  .strictObject({
    accountId,
    source: grantSource.exclude(['purchase']),
    credits: positiveMicros,
    effectiveAt: instant,
    expiresAt: instant.optional(),
    priority: z.number().int().min(0).max(1000).optional(),
    features: z.array(featureId).min(1).max(64).optional(),
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

const chargeShape = {
  accountId,
  userId,
  feature: featureId,
  variant: z.string().min(1).max(64).optional(),
  quantity: z.number().int().min(1).max(LIMITS.maxQuantity).optional(),
  subjectIds: z.array(z.string().min(1).max(256)).min(1).max(LIMITS.maxSubjectsPerCharge).optional(),
  now: instant,
};
const quantityXorSubjects = {
  message: 'give either quantity or subjectIds, not both',
  path: ['quantity'],
};

export const chargeInput = z
  .strictObject({ ...chargeShape, ...keyed })
  .refine((input) => input.quantity === undefined || input.subjectIds === undefined, quantityXorSubjects);

export const estimateInput = z
  .strictObject({ ...chargeShape, userId: userId.optional() })
  .refine((input) => input.quantity === undefined || input.subjectIds === undefined, quantityXorSubjects);

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

export const accountStatus = z.enum(['active', 'cancelling', 'cancelled']);
export const setAccountPlanInput = z.strictObject({
  accountId,
  planId: z.string().min(1).max(64),
  seats: z.number().int().min(1).max(100_000),
  status: accountStatus,
  now: instant,
});

export const holdRefInput = z.strictObject({ accountId, holdId, now: instant });
export const expireGrantInput = z.strictObject({ accountId, grantId, now: instant });
export const accountRefInput = z.strictObject({ accountId });
export const accountAtInput = z.strictObject({ accountId, now: instant });

export const USAGE_GROUPS = ['feature', 'user', 'job', 'day'] as const;
export const usageInput = z
  .strictObject({ accountId, from: instant, to: instant, groupBy: z.enum(USAGE_GROUPS) })
  .refine((input) => input.to > input.from, { path: ['to'], message: 'must be after from' });

export const entriesInput = z.strictObject({
  accountId,
  afterEntryId: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(LIMITS.maxPageSize).default(100),
});

/** Parses an operation's input, turning every schema problem into one VALIDATION_FAILED error. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  throw new LedgerError('VALIDATION_FAILED', `invalid input: ${summary}`, { issues });
}

const attribution = {
  operator: z.string().min(1).max(128),
  reason: z.string().min(1).max(500),
};

export const adjustmentInput = z.discriminatedUnion('action', [
  z
    .strictObject({
      accountId,
      action: z.literal('add'),
      source: z.enum(['promo', 'adjustment']).default('adjustment'),
      credits: positiveMicros,
      expiresAt: instant.optional(),
      features: z.array(featureId).min(1).max(64).optional(),
      ...attribution,
      ...keyed,
      now: instant,
    })
    .refine((input) => !input.expiresAt || input.expiresAt > input.now, { path: ['expiresAt'], message: 'must be in the future' }),
  z.strictObject({ accountId, action: z.literal('remove'), grantId, credits: positiveMicros, ...attribution, ...keyed, now: instant }),
]);

export const chargeId = z.string().regex(/^\d{1,18}$/, 'must be a charge id');
export const refundInput = z.strictObject({
  accountId,
  chargeId,
  /** Omitted: everything of the charge not refunded yet. */
  credits: positiveMicros.optional(),
  ...attribution,
  ...keyed,
  now: instant,
});

export const CONTRACT_EFFECTS = ['now', 'next_period'] as const;
export const contractInput = z.strictObject({
  accountId,
  /** Null: the plan's allowance applies. */
  allowance: z.strictObject({ credits: micros, perSeat: z.boolean().default(false) }).nullable(),
  extraFeatures: z.array(featureId).max(64).default([]),
  /** What the caller asked for; the account workflow turns it into `effectiveFrom`. */
  effective: z.enum(CONTRACT_EFFECTS),
  effectiveFrom: instant,
  ...attribution,
  ...keyed,
  now: instant,
});
