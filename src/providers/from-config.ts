import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import { createHttpProvider } from './http.js';
import type { EnrichmentProvider } from './provider.js';
import { createSimulatedProvider } from './simulated.js';

export function providerFromConfig(config: Config['enrichment'], catalog: Catalog): EnrichmentProvider {
  if (config.provider === 'simulated') return createSimulatedProvider(catalog, config);
  return createHttpProvider({ ...config, backoffMs: 200, maxRetryAfterMs: 60_000 });
}
