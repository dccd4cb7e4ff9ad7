import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a webhook delivery. */
export const WEBHOOK_HEADERS = {
  eventId: 'Credits-Event-Id',
  signature: 'Credits-Signature',
} as const;

const PREFIX = 'sha256=';

/**
 * The `Credits-Signature` value for a webhook body: `sha256=` and the hex HMAC-SHA256 of the exact
 * body bytes with the shared secret. Receivers must verify the raw body, before parsing it.
 */
export function signWebhookBody(body: string | Uint8Array, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** Whether `header` is the signature of `body` with `secret`, compared in constant time. */
export function verifyWebhookSignature(body: string | Uint8Array, header: string | null | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length);
  if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}
