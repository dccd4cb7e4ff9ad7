/**
 * One port in front of the API processes of the production topology: each request goes to the next
 * process in turn, and to another one when a process cannot be reached (it was stopped or killed),
 * as a load balancer would. The request's body is kept until an answer starts, so it can be sent again.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Above the API's own largest limit (a job's records): the proxy refuses what the API would. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ApiProxy {
  url: string;
  stop: () => Promise<void>;
}

async function readBody(incoming: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function forward(target: URL, incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const upstream = request(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
      answer.on('end', () => {
        resolve(true);
      });
    });
    // Refused or reset before any answer: another process may take the request.
    upstream.on('error', () => {
      resolve(outgoing.headersSent);
    });
    upstream.end(body);
  });
}

export async function startApiProxy(port: number, upstreams: readonly string[]): Promise<ApiProxy> {
  if (upstreams.length === 0) throw new Error('the API proxy needs at least one API process');
  let next = 0;
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const body = await readBody(incoming);
      if (body === null) {
        outgoing.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        outgoing.end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: `the body is over ${MAX_BODY_BYTES} bytes` } }));
        return;
      }
      for (let attempt = 0; attempt < upstreams.length; attempt++) {
        const upstream = upstreams[next++ % upstreams.length] ?? '';
        if (await forward(new URL(incoming.url ?? '/', upstream), incoming, body, outgoing)) return;
      }
      outgoing.writeHead(502, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'no API process answered' } }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
