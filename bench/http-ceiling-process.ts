/**
 * The API of `http.ceiling.*`: the least an HTTP hop in front of the ledger can cost, alone in a
 * process of its own as bench/http-api-process.ts is. A bare node:http server answers
 * `POST /v1/accounts/{id}/charges` by calling the same ledger (`ledger.charge`, its group commit
 * included) with the body as it comes, and `GET /metrics` with the process's metrics as the API
 * serves them (the group-commit totals among them); no routing framework, validation,
 * authentication, metrics of its own, logging or error mapping. So
 * `http.charge.*` against it is what the product's API costs on top of the hop itself.
 * Says `{ ready }` over IPC once it listens; stops on SIGTERM or when its parent goes away.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createPool } from '../src/ledger/db.js';
import { createLedger } from '../src/ledger/ledger.js';
import { METRICS_CONTENT_TYPE, processMetricsText } from '../src/metrics/metrics.js';
import { microsToCredits } from '../src/money.js';

const CHARGES_PATH = /^\/v1\/accounts\/([^/]+)\/charges$/;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const pool = createPool({ connectionString: required('BENCH_DATABASE_URL'), max: Number(required('BENCH_API_POOL')), applicationName: 'bench http ceiling' });
const ledger = createLedger({ pool, catalog: loadCatalog() });

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

async function charge(accountId: string, body: string): Promise<{ status: number; body: string; replayed: boolean }> {
  const input = JSON.parse(body) as { feature: string; quantity: number; userId: string; idempotencyKey: string };
  const result = await ledger.charge({ ...input, accountId, now: new Date() });
  return {
    status: 201,
    replayed: result.replayed,
    body: JSON.stringify({ chargeId: result.chargeId, feature: result.feature, credits: microsToCredits(result.credits), balance: { available: microsToCredits(result.balance.available) }, occurredAt: result.occurredAt }),
  };
}

/** The charge, the group-commit totals, or a 404; answered in full once the body is in. */
function route(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
  const accountId = CHARGES_PATH.exec(req.url ?? '')?.[1];
  if (req.method === 'POST' && accountId !== undefined) {
    return charge(decodeURIComponent(accountId), body).then((result) => {
      answer(res, result.status, result.body, { 'idempotent-replayed': String(result.replayed) });
    });
  }
  if (req.method === 'GET' && req.url === '/metrics') {
    return processMetricsText().then((text) => {
      answer(res, 200, text, { 'content-type': METRICS_CONTENT_TYPE });
    });
  }
  answer(res, 404, '{}');
  return Promise.resolve();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    route(req, Buffer.concat(chunks).toString('utf8'), res).catch((error: unknown) => {
      answer(res, 500, JSON.stringify({ error: String(error) }));
    });
  });
}

const server = createServer(handle);
server.listen(Number(required('BENCH_API_PORT')), '127.0.0.1', () => process.send?.({ ready: true }));
const stop = (): void => {
  server.close();
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
