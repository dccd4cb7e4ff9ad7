import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProviderCall {
  recordId: string;
  at: number;
}

export type Behaviour = (recordId: string, attempt: number) => { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

/** A real HTTP enrichment provider on a loopback port, scripted per record and attempt, that logs every call. */
export async function startProviderServer(behaviour: Behaviour, onCall?: (recordId: string) => Promise<void> | void) {
  const calls: ProviderCall[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const { recordId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { recordId: string };
        const attempt = (attempts.get(recordId) ?? 0) + 1;
        attempts.set(recordId, attempt);
        calls.push({ recordId, at: Date.now() });
        await onCall?.(recordId);
        const reply = behaviour(recordId, attempt);
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
        if (response.destroyed) return;
        response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/enrich`,
    calls,
    attemptsOf: (recordId: string) => attempts.get(recordId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
