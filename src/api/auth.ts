import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * Accepts a request whose Authorization header carries one of the configured bearer tokens.
 * Tokens are compared as digests in constant time, so timing reveals nothing about them.
 */
export function bearerTokens(tokens: readonly string[]): MiddlewareHandler {
  const accepted = tokens.map(digest);
  return async (c, next) => {
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '');
    const presented = match?.[1] ? digest(match[1]) : undefined;
    if (!presented || !accepted.some((token) => timingSafeEqual(token, presented))) {
      throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token: send Authorization: Bearer <token>');
    }
    await next();
  };
}
