import { createHash } from 'node:crypto';

/**
 * The fingerprint of an idempotent request, to tell a replay from a reused key: the same key with
 * the same request is a replay, with another a conflict (credits_replay compares them in SQL).
 * Stable across key order, so that the same request hashes alike from any caller.
 */
export function hashRequest(kind: string, request: Record<string, unknown>): string {
  return createHash('sha256').update(kind).update('\n').update(stableJson(request)).digest('hex');
}

function stableJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${stableJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

