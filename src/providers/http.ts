import { setTimeout as delay } from 'node:timers/promises';
import PQueue from 'p-queue';
import { z } from 'zod';
import { FAILED_OUTCOME, type EnrichmentProvider, type EnrichmentRequest, type EnrichmentResult } from './provider.js';

export interface HttpProviderOptions {
  url: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Calls in flight at once, across every job this worker runs. */
  concurrency: number;
  /** At most this many calls started per second. */
  ratePerSecond: number;
  /** Attempts per record, the first included, before it is stored as `failed`. */
  maxAttempts: number;
  /** First retry delay when the provider gives no Retry-After; doubles per attempt. */
  backoffMs: number;
  /** Longest wait honoured from a Retry-After header. */
  maxRetryAfterMs: number;
}

const responseSchema = z.object({ outcome: z.string().min(1).max(64), data: z.unknown().optional() });

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

/**
 * An enrichment provider over HTTP: POSTs `{ feature, recordId, input }` and expects
 * `{ outcome, data }`. Retries 429 and 5xx (honouring Retry-After), timeouts and network errors,
 * with bounded attempts; what still fails is reported as `failed`, which is never charged.
 */
export function createHttpProvider(options: HttpProviderOptions): EnrichmentProvider {
  const queue = new PQueue({ concurrency: options.concurrency, intervalCap: options.ratePerSecond, interval: 1000 });

  async function attempt(request: EnrichmentRequest, signal: AbortSignal): Promise<{ result?: EnrichmentResult; waitMs?: number; problem: string }> {
    try {
      const response = await queue.add(
        () =>
          fetch(options.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(request),
            signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
          }),
        { signal },
      );
      if (response.ok) {
        const parsed = responseSchema.safeParse(await response.json());
        if (parsed.success) return { result: { outcome: parsed.data.outcome, data: parsed.data.data }, problem: '' };
        return { problem: `malformed response: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
      }
      await response.body?.cancel();
      const problem = `HTTP ${response.status}`;
      if (!isRetryableStatus(response.status)) return { result: { outcome: FAILED_OUTCOME, data: { error: problem } }, problem };
      const waitMs = retryAfterMs(response.headers.get('retry-after'));
      return waitMs === undefined ? { problem } : { problem, waitMs };
    } catch (error) {
      signal.throwIfAborted();
      return { problem: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }

  return {
    name: 'http',
    async enrich(request, signal) {
      let problem = '';
      for (let attemptNumber = 1; attemptNumber <= options.maxAttempts; attemptNumber++) {
        const outcome = await attempt(request, signal);
        if (outcome.result) return outcome.result;
        problem = outcome.problem;
        if (attemptNumber === options.maxAttempts) break;
        const backoff = options.backoffMs * 2 ** (attemptNumber - 1);
        await delay(Math.min(outcome.waitMs ?? backoff, options.maxRetryAfterMs), undefined, { signal });
      }
      return { outcome: FAILED_OUTCOME, data: { error: problem, attempts: options.maxAttempts } };
    },
  };
}
