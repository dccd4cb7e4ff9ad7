import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { ApiDeps } from './context.js';
import { createApi } from './app.js';

export interface RunningApi {
  url: string;
  port: number;
  close: () => Promise<void>;
}

/**
 * Serves the API on a port (0 picks a free one) and watches its dependencies while it does; `close`
 * stops accepting, ends open connections and stops the watch.
 */
export async function startApiServer(deps: ApiDeps, options: { port: number; hostname?: string }): Promise<RunningApi> {
  const app = createApi(deps);
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname }, (info: AddressInfo) => {
      deps.health.start();
      const host = hostname === '0.0.0.0' ? '127.0.0.1' : hostname;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: async () => {
          await new Promise<void>((done, fail) => {
            server.close((error) => {
              if (error) fail(error);
              else done();
            });
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          });
          await deps.health.stop();
        },
      });
    });
    server.once('error', reject);
  });
}
