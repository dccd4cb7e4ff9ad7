import type { GrantSource } from '../contract/fields.js';
import type { Micros } from '../money.js';
import type { GrantView } from './reports.js';

export interface RenewalGrant {
  grantId: string;
  source: GrantSource;
  credits: Micros;
}

/** What the boundary at `at` will do to an account's grants. */
export interface Renewal {
  at: string;
  /** Come into force then: the next period's allowance, written ahead. */
  grants: RenewalGrant[];
  /** Gone by then, with what is left of them (held credits included: an earmark expires with its grant). */
  expires: (RenewalGrant & { expiresAt: string })[];
}

/**
 * The renewal at the period's end `at`, from the account's grants as the ledger has them now (its
 * balance's grants, in spending order): the grants effective at that very instant are the next
 * period's allowance written ahead; every grant in force that expires by then loses what is left of
 * it (the allowance's remainder, a trial that ends with the period, a top-up or promo expiring
 * earlier). The one rule for this: the API's account view says it, the CLI prints that.
 */
export function renewalAt(grants: readonly GrantView[], at: string): Renewal {
  const boundary = Date.parse(at);
  return {
    at,
    grants: grants
      .filter((grant) => grant.status === 'pending' && Date.parse(grant.effectiveAt) === boundary)
      .map((grant) => ({ grantId: grant.grantId, source: grant.source, credits: grant.amount })),
    expires: grants.flatMap((grant) =>
      grant.status === 'active' && grant.expiresAt !== null && Date.parse(grant.expiresAt) <= boundary
        ? [{ grantId: grant.grantId, source: grant.source, credits: grant.remaining, expiresAt: grant.expiresAt }]
        : [],
    ),
  };
}
