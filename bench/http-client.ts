import { request, type Agent } from 'node:http';

/**
 * The HTTP client side of the benchmarks that call an in-process API (http.charge.*,
 * accounts.open): node:http on a keep-alive agent the caller owns, so that connecting is paid once
 * per socket (in the warm-up), not per request.
 */

/** The bearer token the benchmarks' in-process APIs accept (`tokens` of createApiDeps). */
export const BENCH_API_TOKEN = 'bench-token-0123456789abcdef';
/** A request that takes longer than this fails rather than hanging the benchmark. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpAnswer {
  status: number;
  /** The `Idempotent-Replayed` header, when the answer has one. */
  replayed: string | undefined;
  body: string;
}

/** One POST with a JSON body on the keep-alive agent, with the benchmarks' token; resolves with the whole answer. */
export function postJson(agent: Agent, url: URL, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${BENCH_API_TOKEN}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const replayed = res.headers['idempotent-replayed'];
          resolve({
            status: res.statusCode ?? 0,
            replayed: Array.isArray(replayed) ? replayed.join(',') : replayed,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.pathname} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}
