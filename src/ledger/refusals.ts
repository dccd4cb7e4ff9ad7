/**
 * The ledger's SQL functions refuse with SQLSTATE CR001, the error code as message and the details
 * (amounts in micros) as JSON. Here each refusal becomes the LedgerError a caller of the TypeScript
 * ledger gets: the same code, a message for people, amounts in credits.
 */
import pg from 'pg';
import { formatCredits, micros, microsToCredits, ZERO_MICROS, type Micros } from '../money.js';
import type { Queryable } from './db.js';
import { isLedgerErrorCode, LedgerError, type LedgerErrorCode } from './errors.js';

export const REFUSAL_SQLSTATE = 'CR001';

export interface Refusal {
  code: string;
  details: Record<string, unknown>;
  /** Said by the function itself, for refusals whose text only it can make. */
  message?: string | undefined;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
/** An amount in a refusal's details: the SQL functions write micros. */
const detailMicros = (value: unknown): Micros => (typeof value === 'number' ? micros(value) : ZERO_MICROS);

const MESSAGES: Partial<Record<LedgerErrorCode, (details: Record<string, unknown>) => string>> = {
  UNKNOWN_ACCOUNT: (d) => `account "${text(d.accountId)}" does not exist`,
  IDEMPOTENCY_CONFLICT: (d) => `idempotency key "${text(d.idempotencyKey)}" was already used for a different ${text(d.previousKind).replace('_', ' ')} request`,
  FEATURE_NOT_IN_PLAN: (d) => `feature "${text(d.feature)}" is not available on plan "${text(d.planId)}" nor in the account's contract`,
  UNKNOWN_USER: (d) =>
    `"${text(d.userId)}" is not a user of account "${text(d.accountId)}": register them first (PUT /v1/accounts/${text(d.accountId)}/users/${text(d.userId)})`,
  CREDITS_DISALLOWED: (d) => `user "${text(d.userId)}" is not allowed to spend credits on account "${text(d.accountId)}"`,
  NOT_ADMIN: (d) => `only an admin of account "${text(d.accountId)}" can buy credits; "${text(d.userId)}" is not one`,
  TRIAL_ALREADY_GRANTED: (d) => `account "${text(d.accountId)}" already had its free trial`,
  UNKNOWN_GRANT: (d) => `grant ${text(d.grantId)} does not exist on account "${text(d.accountId)}"`,
  UNKNOWN_HOLD: (d) => `hold ${text(d.holdId)} does not exist on account "${text(d.accountId)}"`,
  HOLD_RELEASED: (d) => `hold ${text(d.holdId)} was already released`,
  UNKNOWN_CHARGE: (d) => `charge ${text(d.chargeId)} does not exist on account "${text(d.accountId)}"`,
  REMOVAL_EXCEEDS_GRANT: (d) =>
    `grant ${text(d.grantId)} has ${formatCredits(detailMicros(d.removable))} credits that can be removed (${d.inForce === false ? 'it is not in force' : `${formatCredits(detailMicros(d.held))} are held`}), not ${formatCredits(detailMicros(d.credits))}`,
  REFUND_EXCEEDS_CHARGE: (d) =>
    `charge ${text(d.chargeId)} was ${formatCredits(detailMicros(d.charged))} credits and ${formatCredits(detailMicros(d.refunded))} are refunded already: at most ${formatCredits(detailMicros(d.refundable))} more can be`,
  INSUFFICIENT_CREDITS: (d) => `insufficient credits: ${formatCredits(detailMicros(d.needed))} needed, ${formatCredits(detailMicros(d.available))} available`,
};

/** Details fields that hold micros in a refusal and credits in a LedgerError. */
const MICROS_DETAILS = new Set(['needed', 'available', 'removable', 'held', 'credits', 'charged', 'refunded', 'refundable']);

export function refusalError(refusal: Refusal): LedgerError {
  if (!isLedgerErrorCode(refusal.code)) throw new Error(`invariant: the ledger refused with an unknown code ${refusal.code}`);
  const details = Object.fromEntries(
    Object.entries(refusal.details).map(([key, value]) => [key, MICROS_DETAILS.has(key) && typeof value === 'number' ? microsToCredits(micros(value)) : value]),
  );
  const message = refusal.message ?? MESSAGES[refusal.code]?.(refusal.details) ?? refusal.code;
  return new LedgerError(refusal.code, message, details);
}

/** The LedgerError for a refusal raised by a ledger function called directly; other errors as they are. */
export function fromDatabase(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError) || error.code !== REFUSAL_SQLSTATE) return error;
  return refusalError({ code: error.message, details: JSON.parse(error.detail ?? '{}') as Record<string, unknown> });
}

/** What a ledger function answers: its result, or a refusal that wrote nothing. */
export type Outcome<T> = { ok: T } | { refused: string; details: Record<string, unknown>; message?: string };

/** The result, or the refusal as a LedgerError. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if ('refused' in outcome) throw refusalError({ code: outcome.refused, details: outcome.details, message: outcome.message });
  return outcome.ok;
}

/**
 * Calls a ledger function in one round trip, as a named statement (each connection prepares it
 * once): `SELECT fn($1, ...)`, each argument cast as given (`jsonb`, `text`, `bigint`, ...). A
 * refusal it answers or raises (a function that must undo what it wrote raises) is a LedgerError.
 */
export async function callLedger<T>(client: Queryable, fn: string, args: readonly { value: unknown; type: string }[]): Promise<T> {
  const text = `SELECT ${fn}(${args.map((arg, index) => `$${index + 1}::${arg.type}`).join(', ')}) AS outcome`;
  const { rows } = await client.query<{ outcome: Outcome<T> }>({ name: fn, text, values: args.map((arg) => arg.value) }).catch((error: unknown) => {
    throw fromDatabase(error);
  });
  const outcome = rows[0]?.outcome;
  if (!outcome) throw new Error(`invariant: ${fn} answered nothing`);
  return unwrap(outcome);
}

export const json = (value: unknown) => ({ value: JSON.stringify(value), type: 'jsonb' });
