/** Stable error codes of the ledger; the API maps each to an HTTP status. */
export const LEDGER_ERROR_CODES = [
  'INSUFFICIENT_CREDITS',
  'FEATURE_NOT_IN_PLAN',
  'CREDITS_DISALLOWED',
  'NOT_ADMIN',
  'UNKNOWN_ACCOUNT',
  'UNKNOWN_USER',
  'UNKNOWN_FEATURE',
  'UNKNOWN_PLAN',
  'UNKNOWN_HOLD',
  'UNKNOWN_GRANT',
  'UNKNOWN_CHARGE',
  'REFUND_EXCEEDS_CHARGE',
  'REMOVAL_EXCEEDS_GRANT',
  'HOLD_RELEASED',
  'ACCOUNT_EXISTS',
  'UNKNOWN_JOB',
  'JOB_STATE_CONFLICT',
  'TRIAL_ALREADY_GRANTED',
  'IDEMPOTENCY_CONFLICT',
  'VALIDATION_FAILED',
] as const;

export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

export type ErrorDetails = Readonly<Record<string, unknown>>;

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

export function isLedgerError(error: unknown, code?: LedgerErrorCode): error is LedgerError {
  return error instanceof LedgerError && (code === undefined || error.code === code);
}

export function isLedgerErrorCode(code: string): code is LedgerErrorCode {
  return (LEDGER_ERROR_CODES as readonly string[]).includes(code);
}
