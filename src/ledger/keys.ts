/**
 * The engine's own idempotency keys, every shape in one place. Each is a business key (a period, a
 * job, a record), never a Temporal run or activity id, and each lives in the engine's key space
 * (`origin: 'engine'`), so that no client key can replay or block it.
 */
export interface EngineKey {
  idempotencyKey: string;
  origin: 'engine';
}

const engine = (idempotencyKey: string): EngineKey => ({ idempotencyKey, origin: 'engine' });

/** Allowance keys end in `:r<revision>:<index>` (the earlier shape also named the subscription); the audit reads both. */
export const ALLOWANCE_KEY_PATTERN = '^allowance:.*:r([0-9]+):([0-9]+)$';

export const engineKeys = {
  /** A period's allowance: its start, the plan revision that wrote it, its place in the plan. */
  allowance: (periodStart: string, revision: number, index: number) => engine(`allowance:${periodStart}:r${revision}:${index}`),
  /** An upgrade's difference for the rest of a period, per allowance restriction. */
  upgrade: (subscription: string, periodStart: string, revision: number, restriction: string) => engine(`upgrade:${subscription}:${periodStart}:r${revision}:${restriction}`),
  /** The one trial an account ever gets. */
  trial: () => engine('trial'),
  jobHold: (jobId: string) => engine(`job:${jobId}:hold`),
  /** More credits for a job's hold, keyed by what the hold had when it was asked for. */
  jobHoldExtension: (jobId: string, reserved: number, charged: number, at: Date) => engine(`job:${jobId}:reserve:${reserved}:${charged}:${at.toISOString()}`),
  // The charge of a flush of a job's results is keyed `<jobId>:<first record charged>`, by
  // credits_store_job_results (migration 1730000000012), which alone knows which records are charged.
} as const;
