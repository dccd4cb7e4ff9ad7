/**
 * Connection options for the client (API, CLI) and the worker from the validated settings: TLS with
 * a CA and a client certificate when given, an API key (Temporal Cloud) when given.
 */
import { readFileSync } from 'node:fs';
import type { TemporalSettings } from '../config.js';

export interface TemporalConnectionOptions {
  address: string;
  tls?: { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } } | boolean;
  apiKey?: string;
}

/** The settings as a log line may show them: never the API key, only whether there is one. */
export function loggableTemporal(settings: TemporalSettings): Record<string, unknown> {
  return { address: settings.address, namespace: settings.namespace, taskQueue: settings.taskQueue, tls: settings.tls ?? false, apiKey: settings.apiKey ? 'set' : 'unset' };
}

export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const { tls, apiKey } = settings;
  return {
    address: settings.address,
    ...(tls
      ? {
          tls: {
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.caPath ? { serverRootCACertificate: readFileSync(tls.caPath) } : {}),
            ...(tls.certPath && tls.keyPath ? { clientCertPair: { crt: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } } : {}),
          },
        }
      : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}
