import type { LedgerErrorCode } from '../ledger/errors.js';

/** Codes the API itself adds to the ledger's. */
export const API_ERROR_CODES = ['UNAUTHORIZED', 'FORBIDDEN', 'UNKNOWN_TOKEN', 'ACCOUNT_STATE_CONFLICT', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'UNAVAILABLE', 'DATABASE_UNAVAILABLE', 'INTERNAL'] as const;
export type ApiErrorCode = LedgerErrorCode | (typeof API_ERROR_CODES)[number];

export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 413 | 415 | 422 | 500 | 503;

/** One status per code: the contract of DESIGN §4. */
export const STATUS_OF: Readonly<Record<ApiErrorCode, ErrorStatus>> = {
  VALIDATION_FAILED: 422,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  INSUFFICIENT_CREDITS: 402,
  FEATURE_NOT_IN_PLAN: 403,
  CREDITS_DISALLOWED: 403,
  NOT_ADMIN: 403,
  FORBIDDEN: 403,
  UNKNOWN_ACCOUNT: 404,
  UNKNOWN_USER: 404,
  UNKNOWN_FEATURE: 404,
  UNKNOWN_PLAN: 404,
  UNKNOWN_HOLD: 404,
  UNKNOWN_GRANT: 404,
  UNKNOWN_CHARGE: 404,
  UNKNOWN_JOB: 404,
  UNKNOWN_TOKEN: 404,
  NOT_FOUND: 404,
  ACCOUNT_EXISTS: 409,
  IDEMPOTENCY_CONFLICT: 409,
  TRIAL_ALREADY_GRANTED: 409,
  HOLD_RELEASED: 409,
  JOB_STATE_CONFLICT: 409,
  REFUND_EXCEEDS_CHARGE: 409,
  REMOVAL_EXCEEDS_GRANT: 409,
  ACCOUNT_STATE_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
};

/** Seconds a client should wait before retrying, sent as `Retry-After` with these codes. */
export const RETRY_AFTER_S: Readonly<Partial<Record<ApiErrorCode, number>>> = {
  UNAVAILABLE: 5,
  DATABASE_UNAVAILABLE: 2,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  get status(): ErrorStatus {
    return STATUS_OF[this.code];
  }
}

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(STATUS_OF, code);
}
