/**
 * The building blocks of every request and input, as plain zod schemas: identifiers, enums, amounts
 * and instants. The API's request schemas (src/contract/schemas.ts) and the ledger's and jobs'
 * inputs (src/ledger/inputs.ts, src/jobs/inputs.ts) are made of them, so each field has one rule.
 */
import { z } from 'zod';
import { CreditAmountError, parseCredits } from '../money.js';
import { JOB_LIMITS, LIMITS } from './limits.js';

const ID_PATTERN_HINT = 'must be 1-128 letters, digits or';
export const accountId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, `${ID_PATTERN_HINT} _.:@- and start with a letter or digit`);
export const jobId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, `${ID_PATTERN_HINT} _.:- and start with a letter or digit`);
export const userId = z.string().min(1).max(128);
export const featureId = z.string().min(1).max(64);
export const variant = z.string().min(1).max(64);
export const planId = z.string().min(1).max(64);
export const seats = z.number().int().min(1).max(LIMITS.maxSeats);
export const idempotencyKey = z.string().min(1).max(256);
export const subjectId = z.string().min(1).max(256);
export const recordId = z.string().min(1).max(256);
/** Ids the ledger numbers (grants, holds, charges) travel as strings of digits. */
const numberedId = (what: string) => z.string().regex(/^\d{1,18}$/, `must be a ${what} id`);
export const grantId = numberedId('grant');
export const holdId = numberedId('hold');
export const chargeId = numberedId('charge');
/** A minted API token's id (not the token: that is shown once and stored hashed). */
export const tokenId = z.string().regex(/^tok_[A-Za-z0-9_-]{1,64}$/, 'must be a token id such as tok_3kTMd9fQx1Zb');

/** Whether the runtime knows the zone: the same test luxon and every Intl date formatter make. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
export const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as "Europe/Paris"');

export const role = z.enum(['admin', 'member']);
/** What a spend by a user the account has not registered does: refused (UNKNOWN_USER), or registers them as a member. */
export const UNKNOWN_USERS_POLICIES = ['refuse', 'register'] as const;
export const unknownUsersPolicy = z.enum(UNKNOWN_USERS_POLICIES);
export type UnknownUsersPolicy = z.infer<typeof unknownUsersPolicy>;

export const GRANT_SOURCES = ['allowance', 'trial', 'purchase', 'promo', 'adjustment'] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];
export const grantSource = z.enum(GRANT_SOURCES);

export const USAGE_GROUPS = ['feature', 'user', 'job', 'day'] as const;
export const ENTRY_KINDS = ['grant', 'charge', 'hold', 'release', 'expire', 'adjust', 'refund'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
/** A grant's state at an instant (the rule: src/ledger/grant-status.ts). */
export const GRANT_STATUSES = ['pending', 'active', 'spent', 'expired', 'revoked'] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];
export type UsageGroup = (typeof USAGE_GROUPS)[number];
export const CONTRACT_EFFECTS = ['now', 'next_period'] as const;
export const ACCOUNT_STATUSES = ['active', 'cancelling', 'cancelled'] as const;
/**
 * What an API token may do (src/api/auth.ts holds which route needs which): `admin` everything,
 * `service` what a product's backend does (charges, estimates, jobs, top-ups, session tokens, reads),
 * `read` only reads. Each covers those after it.
 */
export const API_SCOPES = ['admin', 'service', 'read'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
export const apiScope = z.enum(API_SCOPES);


export const attribution = {
  operator: z.string().min(1).max(128).meta({ description: 'Who does it (an operator id or email)', example: 'jane@support' }),
  reason: z.string().min(1).max(500).meta({ example: 'service outage on 2026-11-28' }),
};
export const grantFeatures = z.array(featureId).min(1).max(LIMITS.maxFeaturesPerGrant);
export const extraFeatures = z.array(featureId).max(LIMITS.maxExtraFeatures);
export const users = z.array(z.strictObject({ userId, role, creditsAllowed: z.boolean().default(true) })).max(LIMITS.maxUsersPerAccount);

/** What one charge or estimate asks for: a quantity of a feature, or one unit per subject. */
export const actionShape = {
  feature: featureId,
  variant: variant.optional(),
  quantity: z.number().int().min(1).max(LIMITS.maxQuantity).optional().meta({ description: 'Units to charge; 1 when neither quantity nor subjectIds is given' }),
  subjectIds: z.array(subjectId).min(1).max(LIMITS.maxSubjectsPerCharge).optional().meta({ description: 'One unit per subject; subjects inside the re-export window are free' }),
};
export const quantityOrSubjects = (input: { quantity?: number | undefined; subjectIds?: readonly string[] | undefined }) =>
  input.quantity === undefined || input.subjectIds === undefined;
export const quantityOrSubjectsIssue = { message: 'give either quantity or subjectIds, not both', path: ['quantity'] };

export const jobRecord = z.strictObject({
  recordId,
  input: z
    .unknown()
    .optional()
    .refine((value) => value === undefined || JSON.stringify(value).length <= JOB_LIMITS.maxRecordInputBytes, `must serialize to at most ${JOB_LIMITS.maxRecordInputBytes} bytes`)
    .meta({ description: `Provider input, at most ${JOB_LIMITS.maxRecordInputBytes} bytes of JSON` }),
});
export type JobRecordInput = z.input<typeof jobRecord>;

/** Credits as the API writes them: a JSON number with at most 6 decimals, exact in micros. */
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
    .meta({ type: 'number', example: 12.5, description: 'Credits, at most 6 decimals' });
}
export const credits = creditAmount({ positive: false });
export const positiveCredits = creditAmount({ positive: true });
/** A change of credits in a ledger entry: negative when credits leave a grant. */
export const signedCredits = z.number().meta({ example: -2.5, description: 'Credits, at most 6 decimals; negative when credits leave a grant' });

export const isoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time such as "2026-01-31T12:00:00Z"' }).meta({ example: '2026-01-31T12:00:00Z' });

/** A whole number in a query string: digits only, so "0x10", "1e3" or " 5" are refused rather than guessed at. */
export const queryInteger = (min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^\d{1,16}$/, 'must be a whole number written in digits')])
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback)
    .meta({ type: 'integer', minimum: min, maximum: max, default: fallback });
export const pageLimit = (max: number) => queryInteger(1, max, 100);
export const cursor = queryInteger(0, Number.MAX_SAFE_INTEGER, 0);
