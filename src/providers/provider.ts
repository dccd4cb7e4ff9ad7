/** One record to enrich, as the provider sees it. */
export interface EnrichmentRequest {
  feature: string;
  recordId: string;
  input: unknown;
}

/**
 * What the provider found. `outcome` is free text from the provider's vocabulary; the catalog says
 * which outcomes are chargeable for the feature (e.g. `deliverable`, `risky`). `failed` means the
 * provider could not answer even after retries: it is stored and never charged.
 */
export interface EnrichmentResult {
  outcome: string;
  data?: unknown;
}

export const FAILED_OUTCOME = 'failed';
export const NOT_FOUND_OUTCOME = 'not_found';

export interface EnrichmentProvider {
  readonly name: string;
  /** Never rejects for a provider fault: those become `{ outcome: 'failed' }`. Rejects only when aborted. */
  enrich(request: EnrichmentRequest, signal: AbortSignal): Promise<EnrichmentResult>;
}
