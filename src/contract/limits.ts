/**
 * Limits on every request and input, defined once: the API's schemas, the ledger's and the jobs'
 * inputs and the CLI all read them here, so that nothing unbounded reaches a query and no two layers
 * disagree on a bound.
 */
export const LIMITS = {
  maxQuantity: 1_000_000,
  maxSubjectsPerCharge: 10_000,
  maxUsersPerAccount: 10_000,
  maxSeats: 100_000,
  maxPageSize: 1_000,
  maxFeaturesPerGrant: 64,
  maxExtraFeatures: 64,
  maxGrantPriority: 1_000,
} as const;

export const JOB_LIMITS = {
  maxRecordsPerAppend: 10_000,
  maxRecordsPerJob: 5_000_000,
  maxRecordInputBytes: 16_384,
  maxBatchSize: 5_000,
  maxResultsPage: 1_000,
} as const;

/** How long an account's session token lasts: short, as it is handed to a browser. */
export const SESSION_TOKEN_LIMITS = {
  defaultSeconds: 900,
  minSeconds: 60,
  maxSeconds: 86_400,
} as const;
