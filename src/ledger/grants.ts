/**
 * Granting credits is one call to `credits_grant` (migration 1730000000008): an allowance, trial or
 * promo, an admin's purchase, or an operator's adjustment. Node validates; SQL applies the account's
 * lock, the idempotency key, the admin rule for purchases and the one trial per account.
 */
import type { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import type { GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import type { Queryable } from './db.js';
import { grantInput, parseInput, topUpInput } from './inputs.js';
import { DEFAULT_PRIORITY, requireFeature, type Replayable } from './internals.js';
import { callLedger, json } from './refusals.js';
import { hashRequest } from './request-hash.js';
import type { LedgerScope } from './scope.js';

export type GrantInput = z.input<typeof grantInput>;
export type TopUpInput = z.input<typeof topUpInput>;

export interface GrantResult {
  grantId: string;
  source: GrantSource;
  credits: Micros;
  effectiveAt: string;
  expiresAt: string | null;
}

/** What `credits_grant` reads of one grant. */
export interface GrantItem {
  kind: 'grant' | 'top_up' | 'adjustment';
  accountId: string;
  origin: string;
  idempotencyKey: string;
  requestHash: string;
  source: GrantSource;
  credits: Micros;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  features: string[] | null;
  /** The admin buying (a top-up). */
  userId?: string;
  /** Who adjusts and why (an adjustment). */
  operator?: string;
  reason?: string;
  now: string;
}

/** A grant's result; a purchase's and an adjustment's also carry the balance after them (and an adjustment its operation). */
export type GrantOutcomeResult = GrantResult & { balance?: { available: Micros }; operationId?: string };

/** Grants in one round trip; the result, or the refusal as a LedgerError. */
export function runGrant(client: Queryable, item: GrantItem): Promise<Replayable<GrantOutcomeResult>> {
  return callLedger(client, 'credits_grant', [json(item)]);
}

/** What `credits_grant` reads of a grant: validated, its features in the catalog. */
export function grantItem(catalog: Catalog, raw: GrantInput): GrantItem {
  const input = parseInput(grantInput, raw);
  for (const featureId of input.features ?? []) requireFeature(catalog, featureId);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  return {
    kind: 'grant',
    accountId,
    origin,
    idempotencyKey,
    requestHash: hashRequest('grant', request),
    source: input.source,
    credits: input.credits,
    priority: input.priority ?? DEFAULT_PRIORITY[input.source],
    effectiveAt: input.effectiveAt.toISOString(),
    expiresAt: input.expiresAt?.toISOString() ?? null,
    features: input.features ?? null,
    now: now.toISOString(),
  };
}

/** One round trip: `credits_grant`. */
export async function grant(scope: LedgerScope, raw: GrantInput): Promise<Replayable<GrantResult>> {
  return runGrant(scope.db, grantItem(scope.catalog, raw));
}

/** One round trip: `credits_grant` refuses a buyer who is not an admin. */
export async function topUp(scope: LedgerScope, raw: TopUpInput): Promise<Replayable<GrantResult & { balance: { available: Micros } }>> {
  const input = parseInput(topUpInput, raw);
  const { idempotencyKey, origin, now, accountId, ...request } = input;
  const { balance, ...granted } = await runGrant(scope.db, {
    kind: 'top_up',
    accountId,
    origin,
    idempotencyKey,
    requestHash: hashRequest('top_up', request),
    source: 'purchase',
    credits: input.credits,
    priority: DEFAULT_PRIORITY.purchase,
    effectiveAt: now.toISOString(),
    expiresAt: input.expiresAt?.toISOString() ?? null,
    features: null,
    userId: input.userId,
    now: now.toISOString(),
  });
  if (!balance) throw new Error('invariant: a top-up answered no balance');
  return { ...granted, balance };
}
