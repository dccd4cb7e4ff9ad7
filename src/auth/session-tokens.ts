import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * An account's session token, for a browser (the product's page, the balance widget): what it may do
 * (its account, its user, whether it may buy a top-up) and until when, signed with HMAC-SHA256 under
 * the server's secret (SESSION_TOKEN_SECRET). Signed rather than stored: a product mints one per page
 * view, and nothing is written or looked up for it; every API replica checks it with the same
 * secret. The price is that one cannot be revoked before it expires, hence short lives (at most a
 * day, 15 minutes by default); changing the secret ends them all. The claims are readable (base64url
 * JSON), not secret: the signature is what makes them hold.
 */

/** What every session token starts with; the signature covers it, so a later format cannot be mistaken for this one. */
export const SESSION_TOKEN_PREFIX = 'csess_';

export interface SessionClaims {
  accountId: string;
  /** The user it acts for (its top-ups are theirs), or null for any reader of the account. */
  userId: string | null;
  allowTopUp: boolean;
  expiresAt: Date;
}

const Payload = z.strictObject({ accountId: z.string(), userId: z.string().nullable(), allowTopUp: z.boolean(), expiresAt: z.number().int() });

const signature = (secret: string, payload: string): Buffer => createHmac('sha256', secret).update(`${SESSION_TOKEN_PREFIX}${payload}`).digest();

export function signSessionToken(secret: string, claims: SessionClaims): string {
  const payload = Buffer.from(
    JSON.stringify({ accountId: claims.accountId, userId: claims.userId, allowTopUp: claims.allowTopUp, expiresAt: claims.expiresAt.getTime() }),
  ).toString('base64url');
  return `${SESSION_TOKEN_PREFIX}${payload}.${signature(secret, payload).toString('base64url')}`;
}

/** The token's claims, or why it is refused, in words for its holder. */
export function verifySessionToken(secret: string, token: string, now: Date): { claims: SessionClaims } | { refused: string } {
  const [payload, mac, ...rest] = token.slice(SESSION_TOKEN_PREFIX.length).split('.');
  if (!token.startsWith(SESSION_TOKEN_PREFIX) || !payload || !mac || rest.length > 0) return { refused: 'the session token is malformed' };
  const expected = signature(secret, payload);
  const given = Buffer.from(mac, 'base64url');
  // A signature has one spelling: base64url decoding ignores the last character's spare bits, which
  // would let one token be written four ways. Then compared in constant time, so timing tells
  // nothing about the right signature.
  if (given.toString('base64url') !== mac || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { refused: 'the session token is invalid: its signature does not match (it was altered, or signed with another secret)' };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { refused: 'the session token is malformed' };
  }
  const parsed = Payload.safeParse(decoded);
  if (!parsed.success) return { refused: 'the session token is malformed' };
  const expiresAt = new Date(parsed.data.expiresAt);
  if (now.getTime() >= expiresAt.getTime()) return { refused: `the session token expired at ${expiresAt.toISOString()}: mint a new one` };
  return { claims: { accountId: parsed.data.accountId, userId: parsed.data.userId, allowTopUp: parsed.data.allowTopUp, expiresAt } };
}
