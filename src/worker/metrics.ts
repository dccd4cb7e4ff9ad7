/**
 * A worker's metrics (README, "Metrics"): its own (src/metrics/metrics.ts) on a small HTTP
 * listener, and the Temporal SDK's worker metrics, which the SDK's native core serves itself on a
 * port of its own (they never pass through Node).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsExporterConfig } from '@temporalio/worker';
import { METRICS_CONTENT_TYPE, processMetricsText } from '../metrics/metrics.js';

export interface MetricsServer {
  url: string;
  close: () => Promise<void>;
}

/** Serves the process's metrics at GET /metrics on `port` (0: a free one, for tests); every other request is a 404. */
export async function startMetricsServer(options: { port: number; hostname: string }): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    processMetricsText().then(
      (text) => response.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(text),
      (error: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.hostname === '0.0.0.0' ? '127.0.0.1' : options.hostname;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * The SDK's worker metrics (task slots, poll and schedule-to-start latencies, sticky cache, activity
 * and workflow outcomes: `temporal_*`) served by its core at `bindAddress` under /metrics, named the
 * Prometheus way: `_total` on counters, durations in seconds with the unit in the name. For
 * `Runtime.install({ telemetryOptions: { metrics } })`, before the process's first connection.
 */
export function temporalMetrics(bindAddress: string): MetricsExporterConfig {
  return { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } };
}
