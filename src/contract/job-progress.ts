import { sumMicros, ZERO_MICROS, type Micros } from '../money.js';

/**
 * What a job's records have come to: how many have a result, by kind, and the credits charged for
 * them. One shape for a whole job (read from its row), a batch and a flush, so that adding them up
 * is one function. Pure: workflow code imports it.
 */
export interface JobProgress {
  /** Records with a stored result: verified + notFound + failed. */
  processed: number;
  /** Records with a chargeable outcome, each charged once. */
  verified: number;
  notFound: number;
  /** The provider failed on them: stored, never charged. */
  failed: number;
  charged: Micros;
}

export const NO_PROGRESS: Readonly<JobProgress> = Object.freeze({ processed: 0, verified: 0, notFound: 0, failed: 0, charged: ZERO_MICROS });

export function addProgress(a: JobProgress, b: JobProgress): JobProgress {
  return {
    processed: a.processed + b.processed,
    verified: a.verified + b.verified,
    notFound: a.notFound + b.notFound,
    failed: a.failed + b.failed,
    charged: sumMicros([a.charged, b.charged]),
  };
}
