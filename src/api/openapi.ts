import type { z } from '@hono/zod-openapi';
import { ErrorResponse } from './schemas.js';
import { STATUS_OF, type ApiErrorCode } from './errors.js';

/** Building blocks for route definitions, so every route documents its errors the same way. */

export function jsonBody<S extends z.ZodType>(schema: S, description?: string) {
  return { required: true, content: { 'application/json': { schema } }, ...(description ? { description } : {}) } as const;
}

export function json<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** The error responses a route can give, grouped by status, each listing its codes. */
export function errors(...codes: ApiErrorCode[]) {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'VALIDATION_FAILED', 'DATABASE_UNAVAILABLE', ...codes] as const) {
    const status = STATUS_OF[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, { description: `error: ${[...new Set(list)].join(', ')}`, content: { 'application/json': { schema: ErrorResponse } } }]),
  );
}
