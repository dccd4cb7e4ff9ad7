import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Catalog } from '../catalog/catalog.js';
import { NOT_FOUND_OUTCOME, type EnrichmentProvider, type EnrichmentRequest, type EnrichmentResult } from './provider.js';

export interface SimulatedProviderOptions {
  /** Share of records that come back with a chargeable outcome, from 0 to 1. */
  verifiedRate: number;
  /** Latency of every call, in milliseconds. */
  latencyMs: number;
}

/** A number in [0, 1) derived from the record id alone, so every run sees the same outcomes. */
function uniformFromId(recordId: string): number {
  return createHash('sha256').update(recordId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * A provider for demos, tests and benchmarks: deterministic outcomes from the record id, a
 * configurable verified rate and latency, and the feature's chargeable outcomes from the catalog.
 */
export function createSimulatedProvider(catalog: Catalog, options: SimulatedProviderOptions): EnrichmentProvider {
  if (!(options.verifiedRate >= 0 && options.verifiedRate <= 1)) throw new Error(`verifiedRate must be within [0, 1], got ${options.verifiedRate}`);
  if (!(options.latencyMs >= 0)) throw new Error(`latencyMs must be >= 0, got ${options.latencyMs}`);
  return {
    name: 'simulated',
    async enrich(request: EnrichmentRequest, signal: AbortSignal): Promise<EnrichmentResult> {
      if (options.latencyMs > 0) await delay(options.latencyMs, undefined, { signal });
      signal.throwIfAborted();
      const chargeable = catalog.feature(request.feature)?.chargeableOutcomes ?? [];
      const draw = uniformFromId(request.recordId);
      if (draw >= options.verifiedRate || chargeable.length === 0) return { outcome: NOT_FOUND_OUTCOME };
      const outcome = chargeable[Math.floor((draw / options.verifiedRate) * chargeable.length)] ?? chargeable[0] ?? NOT_FOUND_OUTCOME;
      return { outcome, data: { source: 'simulated', recordId: request.recordId } };
    },
  };
}
