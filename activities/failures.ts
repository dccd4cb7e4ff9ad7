import { ApplicationFailure } from '@temporalio/common';
import { isLedgerError } from '../src/ledger/errors.js';

/**
 * Business errors become non-retryable failures whose type is the ledger's stable code, so a
 * workflow (or an update's caller) can tell INSUFFICIENT_CREDITS from a transient fault. Anything
 * else stays retryable: the ledger is idempotent, so a retry never charges twice.
 */
export async function asActivityFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isLedgerError(error)) {
      throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true, details: [error.details] });
    }
    throw error;
  }
}
