import type { LedgerErrorCode } from '../ledger/errors.js';

/**
 * The Temporal adapter's failures, neutral of any transport: the API maps them to its answers
 * (503 UNAVAILABLE, 409, or the ledger's own code), the CLI and tests read them as they are.
 */

/** Temporal's server could not be reached or did not answer in time. */
export class TemporalUnavailable extends Error {
  override readonly name = 'TemporalUnavailable';
}

/** Why a workflow refused a request: a business failure keeps the ledger's code (with its details). */
export type WorkflowRefusalCode = LedgerErrorCode | 'ACCOUNT_STATE_CONFLICT';

/** A workflow refused the request in its current state, or has no running execution to take it. */
export class WorkflowRefused extends Error {
  override readonly name = 'WorkflowRefused';
  constructor(
    readonly code: WorkflowRefusalCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
