import type pg from 'pg';
import type { Catalog } from '../catalog/catalog.js';
import type { GrantSource } from '../contract/fields.js';
import { multiplyMicros, type Micros } from '../money.js';
import { withTransaction } from './db.js';
import { LedgerError } from './errors.js';
import {
  accountAtInput,
  chargeHoldInput,
  chargeInput,
  createAccountInput,
  estimateInput,
  expireGrantInput,
  extendHoldInput,
  grantInput,
  holdRefInput,
  parseInput,
  reserveInput,
  setAccountPlanInput,
  accountSettingsInput,
  setUserInput,
  topUpInput,
  accountRefInput,
} from './inputs.js';
import type { UnknownUsersPolicy } from '../contract/fields.js';
import { LIMITS } from '../contract/limits.js';
import {
  authorizeSpend,
  DEFAULT_PRIORITY,
  lockAccount,
  readAccount,
  requireFeature,
  requireUnitPrice,
  upsertUser,
  type AccountRow,
  type Replayable,
} from './internals.js';
import { runGrant, type GrantResult } from './grants.js';
import { callLedger, json, unwrap } from './refusals.js';
import {
  batchRunner,
  chargeItem,
  chargeResult,
  runChargeBatch,
  runHoldCharge,
  type BatchItem,
  type BatchRunner,
  type ChargeResult,
  type HoldChargeResult,
  type JobResultsItem,
  type StoredJobResults,
} from './charges.js';
import { createGroupCommit, DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './group-commit.js';
import { operatorOperations } from './operator-tools.js';
import { createReports } from './reports.js';
import { auditLedger } from './audit.js';
import type { Queryable } from './db.js';
import type { z } from 'zod';
import { hashRequest } from './request-hash.js';

export { DEFAULT_PRIORITY, type GrantResult };
export type { ChargeResult, HoldChargeResult };

export interface AccountView {
  accountId: string;
  planId: string;
  seats: number;
  timeZone: string;
  status: AccountRow['status'];
  createdAt: string;
}

export interface AccountResult extends AccountView {
  created: boolean;
}

export interface EstimateResult {
  feature: string;
  maxCredits: Micros;
  billableQuantity: number;
  dedupedQuantity: number;
  available: Micros;
  sufficient: boolean;
}

export interface HoldResult {
  holdId: string;
  /** Credits this call earmarked: the maximum asked for, or less when the balance is lower. */
  reserved: Micros;
}


export interface HoldState {
  holdId: string;
  accountId: string;
  feature: string;
  userId: string;
  jobId: string | null;
  status: 'open' | 'released';
  /** Credits still earmarked on grants that are spendable now. */
  held: Micros;
  reserved: Micros;
  charged: Micros;
  released: Micros;
  expired: Micros;
}

export interface ExpireResult {
  grantId: string;
  source: GrantSource;
  expired: Micros;
  alreadyExpired: boolean;
  /** The grant's validity: for an allowance, its period. */
  effectiveAt: string;
  expiresAt: string | null;
}

export type CreateAccountInput = z.input<typeof createAccountInput>;
export type SetUserInput = z.input<typeof setUserInput>;
export type AccountSettingsInput = z.input<typeof accountSettingsInput>;

export interface AccountSettings {
  accountId: string;
  unknownUsers: UnknownUsersPolicy;
  /** balance.low fires at or below this; null: 10 % of the period's allowance. */
  lowBalanceMicros: Micros | null;
}

export interface AccountUsers {
  accountId: string;
  unknownUsers: UnknownUsersPolicy;
  users: { userId: string; role: 'admin' | 'member'; creditsAllowed: boolean; updatedAt: string }[];
}
export type SetAccountPlanInput = z.input<typeof setAccountPlanInput>;
export type GrantInput = z.input<typeof grantInput>;
export type TopUpInput = z.input<typeof topUpInput>;
export type ChargeInput = z.input<typeof chargeInput>;
export type EstimateInput = z.input<typeof estimateInput>;
export type ReserveInput = z.input<typeof reserveInput>;
export type ExtendHoldInput = z.input<typeof extendHoldInput>;
export type ChargeHoldInput = z.input<typeof chargeHoldInput>;
export type HoldRefInput = z.input<typeof holdRefInput>;
export type ExpireGrantInput = z.input<typeof expireGrantInput>;

export interface LedgerDeps {
  pool: pg.Pool;
  catalog: Catalog;
  /** How concurrent charges are coalesced into transactions (src/ledger/group-commit.ts). */
  groupCommit?: GroupCommitOptions;
}

export type Ledger = ReturnType<typeof createLedger>;
export type LedgerOperations = ReturnType<typeof ledgerOperations>;

/** An account row locked by `lockAccountFor` in the caller's transaction. */
export type LockedAccount = AccountRow;

export type Transaction = <T>(work: (client: Queryable) => Promise<T>) => Promise<T>;

/** The ledger: every operation is one PostgreSQL transaction, and every mutation is idempotent. */
export function createLedger({ pool, catalog, groupCommit = DEFAULT_GROUP_COMMIT }: LedgerDeps) {
  const batches = createGroupCommit((items: BatchItem[]) => runChargeBatch(pool, catalog, items), groupCommit);
  return {
    ...ledgerOperations(catalog, pool, (work) => withTransaction(pool, work), batchRunner((item) => batches.submit(item))),
    /**
     * The same operations inside a transaction the caller already holds, so that its own writes
     * (a job's results, an outbox event) commit or roll back together with the ledger's.
     */
    within: (client: Queryable): LedgerOperations =>
      ledgerOperations(
        catalog,
        client,
        (work) => work(client),
        batchRunner(async (item) => {
          const [outcome] = await runChargeBatch(client, catalog, [item]);
          if (!outcome) throw new Error('invariant: a batch of one answered no outcome');
          return outcome;
        }),
      ),
  };
}

function ledgerOperations(catalog: Catalog, pool: Queryable, transaction: Transaction, inBatch: BatchRunner) {

  async function createAccount(raw: CreateAccountInput): Promise<AccountResult> {
    const input = parseInput(createAccountInput, raw);
    if (!catalog.plan(input.planId)) {
      throw new LedgerError('UNKNOWN_PLAN', `plan "${input.planId}" is not in the catalog`, { planId: input.planId });
    }
    return transaction(async (client) => {
      const inserted = await client.query<AccountRow>(
        `INSERT INTO accounts (account_id, plan_id, seats, time_zone, unknown_users, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account_id) DO NOTHING RETURNING *`,
        [input.accountId, input.planId, input.seats, input.timeZone, input.unknownUsers, input.now],
      );
      const account = inserted.rows[0];
      if (!account) {
        const existing = await readAccount(client, input.accountId);
        if (existing.plan_id !== input.planId || existing.seats !== input.seats || existing.time_zone !== input.timeZone) {
          throw new LedgerError('ACCOUNT_EXISTS', `account "${input.accountId}" already exists with other settings`, {
            accountId: input.accountId,
          });
        }
        return toAccountResult(existing, false);
      }
      for (const user of input.users) {
        await upsertUser(client, input.accountId, user.userId, user.role, user.creditsAllowed, input.now);
      }
      return toAccountResult(account, true);
    });
  }

  /**
   * Takes the account's lock for the caller's transaction (use `within(client)`), so that what the
   * caller writes next about the account (a job, its records) is ordered with the account's spends.
   */
  async function lockAccountFor(raw: { accountId: string }): Promise<LockedAccount> {
    const { accountId } = parseInput(accountRefInput, raw);
    return lockAccount(pool, accountId);
  }

  /**
   * Gating, known users and the per-user switch for a spend that is about to be reserved (a job):
   * refuses as a charge would, and registers an unknown user when the account says so.
   */
  async function authorizeSpender(input: { account: LockedAccount; featureId: string; userId: string; now: Date }): Promise<void> {
    await authorizeSpend(pool, catalog, input.account, requireFeature(catalog, input.featureId), input.userId, input.now, { register: true });
  }

  /** The account's plan, seats, time zone and status, without reading its grants. */
  async function getAccount(raw: { accountId: string }): Promise<AccountView> {
    const { accountId } = parseInput(accountRefInput, raw);
    return toAccountView(await readAccount(pool, accountId));
  }

  async function setUser(raw: SetUserInput): Promise<{ accountId: string; userId: string; role: string; creditsAllowed: boolean }> {
    const input = parseInput(setUserInput, raw);
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      await upsertUser(client, input.accountId, input.userId, input.role, input.creditsAllowed, input.now);
      return { accountId: input.accountId, userId: input.userId, role: input.role, creditsAllowed: input.creditsAllowed };
    });
  }

  /**
   * Account settings: whether a spend by a user the account has not registered is refused or
   * registers them, and the balance.low threshold. Fields left out keep their value.
   */
  async function updateSettings(raw: AccountSettingsInput): Promise<AccountSettings> {
    const input = parseInput(accountSettingsInput, raw);
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      const { rows } = await client.query<AccountRow>(
        `UPDATE accounts SET unknown_users = coalesce($2, unknown_users),
                low_balance_micros = CASE WHEN $3::boolean THEN $4::bigint ELSE low_balance_micros END
          WHERE account_id = $1 RETURNING *`,
        [input.accountId, input.unknownUsers ?? null, input.lowBalanceMicros !== undefined, input.lowBalanceMicros ?? null],
      );
      const account = rows[0];
      if (!account) throw new Error('invariant: locked account vanished');
      return toSettings(account);
    });
  }

  async function getSettings(raw: { accountId: string }): Promise<AccountSettings> {
    const { accountId } = parseInput(accountRefInput, raw);
    return toSettings(await readAccount(pool, accountId));
  }

  /** The account's users in id order, and what a spend by anyone else does. */
  async function listUsers(raw: { accountId: string }): Promise<AccountUsers> {
    const { accountId } = parseInput(accountRefInput, raw);
    const account = await readAccount(pool, accountId);
    const { rows } = await pool.query<{ user_id: string; role: 'admin' | 'member'; credits_allowed: boolean; updated_at: Date }>(
      `SELECT user_id, role, credits_allowed, updated_at FROM account_users WHERE account_id = $1 ORDER BY user_id LIMIT ${LIMITS.maxUsersPerAccount}`,
      [accountId],
    );
    return {
      accountId,
      unknownUsers: account.unknown_users,
      users: rows.map((row) => ({ userId: row.user_id, role: row.role, creditsAllowed: row.credits_allowed, updatedAt: row.updated_at.toISOString() })),
    };
  }

  /** Plan, seats and status in force for gating; the account workflow decides when they change. */
  async function setAccountPlan(raw: SetAccountPlanInput): Promise<AccountResult> {
    const input = parseInput(setAccountPlanInput, raw);
    if (!catalog.plan(input.planId)) {
      throw new LedgerError('UNKNOWN_PLAN', `plan "${input.planId}" is not in the catalog`, { planId: input.planId });
    }
    return transaction(async (client) => {
      await lockAccount(client, input.accountId);
      const { rows } = await client.query<AccountRow>(
        'UPDATE accounts SET plan_id = $2, seats = $3, status = $4 WHERE account_id = $1 RETURNING *',
        [input.accountId, input.planId, input.seats, input.status],
      );
      const account = rows[0];
      if (!account) throw new Error('invariant: locked account vanished');
      return toAccountResult(account, false);
    });
  }

  /** One round trip: `credits_grant`. */
  async function grant(raw: GrantInput): Promise<Replayable<GrantResult>> {
    const input = parseInput(grantInput, raw);
    for (const featureId of input.features ?? []) requireFeature(catalog, featureId);
    const { idempotencyKey, origin, now, accountId, ...request } = input;
    return runGrant(pool, {
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
    });
  }

  /** One round trip: `credits_grant` refuses a buyer who is not an admin. */
  async function topUp(raw: TopUpInput): Promise<Replayable<GrantResult & { balance: { available: Micros } }>> {
    const input = parseInput(topUpInput, raw);
    const { idempotencyKey, origin, now, accountId, ...request } = input;
    const { balance, ...granted } = await runGrant(pool, {
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

  /** Subjects an estimate would bill: `credits_billable_subjects`, the rule a charge applies too. */
  async function billableSubjects(
    client: Queryable,
    account: AccountRow,
    subjectIds: readonly string[],
    windowDays: number | undefined,
    subjectGroup: string,
    now: Date,
  ): Promise<{ billable: number; deduped: number }> {
    const distinct = [...new Set(subjectIds)];
    const { rows } = await client.query<{ billable: number }>('SELECT credits_billable_subjects($1, $2, $3::text[], $4, $5) AS billable', [
      account.account_id,
      subjectGroup,
      distinct,
      windowDays ?? null,
      now,
    ]);
    return { billable: rows[0]?.billable ?? distinct.length, deduped: distinct.length };
  }

  /** One round trip: `credits_charge_batch` applies every rule, in a batch with concurrent charges. */
  async function charge(raw: ChargeInput): Promise<Replayable<ChargeResult>> {
    const item = chargeItem(catalog, parseInput(chargeInput, raw));
    return chargeResult(await inBatch(item));
  }

  /**
   * A job's flush (its results stored, its chargeable records charged on its hold) in one round
   * trip, in a batch with the account's concurrent charges.
   */
  async function storeJobResults(item: JobResultsItem): Promise<StoredJobResults> {
    return unwrap(await inBatch(item));
  }

  async function estimate(raw: EstimateInput): Promise<EstimateResult> {
    const input = parseInput(estimateInput, raw);
    const feature = requireFeature(catalog, input.feature);
    const unitPrice = requireUnitPrice(catalog, feature, input.variant);
    const client = pool;
    const account = await readAccount(client, input.accountId);
    // Gating holds with or without a user: only the per-user switch needs one.
    await authorizeSpend(client, catalog, account, feature, input.userId ?? null, input.now, { register: false });
    const { billable, deduped } = input.subjectIds
      ? await billableSubjects(client, account, input.subjectIds, feature.reexportWindowDays, catalog.subjectGroup(feature), input.now)
      : { billable: input.quantity ?? 1, deduped: input.quantity ?? 1 };
    const maxCredits = multiplyMicros(unitPrice, billable);
    const { rows } = await client.query<{ available: Micros }>('SELECT coalesce(sum(free), 0)::bigint AS available FROM spendable_grants($1, $2, $3)', [
      input.accountId,
      feature.id,
      input.now,
    ]);
    const available = rows[0]?.available ?? 0;
    return { feature: feature.id, maxCredits, billableQuantity: billable, dedupedQuantity: deduped, available, sufficient: available >= maxCredits };
  }

  /** One round trip: `credits_reserve` with gating, known users and the switch as for a charge. */
  async function reserve(raw: ReserveInput): Promise<Replayable<HoldResult>> {
    const input = parseInput(reserveInput, raw);
    const feature = requireFeature(catalog, input.feature);
    const { idempotencyKey, origin, now, accountId, ...request } = input;
    return callLedger(pool, 'credits_reserve', [
      json({
        accountId,
        origin,
        idempotencyKey,
        requestHash: hashRequest('hold', request),
        userId: input.userId,
        feature: feature.id,
        plans: catalog.plansWith(feature),
        jobId: input.jobId ?? null,
        maxCredits: input.maxCredits,
        now: now.toISOString(),
      }),
    ]);
  }

  /** One round trip: `credits_reserve` earmarks more for an open hold. */
  async function extendHold(raw: ExtendHoldInput): Promise<Replayable<HoldResult>> {
    const input = parseInput(extendHoldInput, raw);
    const { idempotencyKey, origin, now, accountId, ...request } = input;
    return callLedger(pool, 'credits_reserve', [
      json({ accountId, origin, idempotencyKey, requestHash: hashRequest('hold_extend', request), holdId: input.holdId, maxCredits: input.maxCredits, now: now.toISOString() }),
    ]);
  }

  /** One round trip: `credits_hold_charge` charges from what the hold earmarks, in spending order. */
  async function chargeHold(raw: ChargeHoldInput): Promise<Replayable<HoldChargeResult>> {
    const input = parseInput(chargeHoldInput, raw);
    const { idempotencyKey, origin, now, accountId, ...request } = input;
    return runHoldCharge(pool, catalog, {
      accountId,
      holdId: input.holdId,
      quantity: input.quantity,
      idempotencyKey,
      origin,
      requestHash: hashRequest('hold_charge', request),
      now: now.toISOString(),
    });
  }

  /** What a hold still earmarks on grants in force at `now` (earmarks on expired grants are gone). */
  async function heldInForce(client: Queryable, holdId: string, now: Date): Promise<Micros> {
    const { rows } = await client.query<{ held: Micros }>(
      `SELECT coalesce(sum(a.held), 0)::bigint AS held FROM hold_allocations a JOIN grants g USING (grant_id)
        WHERE a.hold_id = $1 AND a.held > 0 AND grant_in_force(g.expired_at, g.effective_at, g.expires_at, $2)`,
      [holdId, now],
    );
    return rows[0]?.held ?? 0;
  }

  /** Returns every earmark to its grant (`credits_release_hold`); releasing a released hold changes nothing. */
  async function releaseHold(raw: HoldRefInput): Promise<HoldState> {
    const input = parseInput(holdRefInput, raw);
    await callLedger(pool, 'credits_release_hold', [
      { value: input.accountId, type: 'text' },
      { value: input.holdId, type: 'bigint' },
      { value: input.now, type: 'timestamptz' },
    ]);
    return readHold(pool, input.accountId, input.holdId, input.now);
  }

  async function holdState(raw: HoldRefInput): Promise<HoldState> {
    const input = parseInput(holdRefInput, raw);
    return readHold(pool, input.accountId, input.holdId, input.now);
  }

  async function readHold(client: Queryable, accountId: string, holdId: string, now: Date): Promise<HoldState> {
    const { rows } = await client.query<{
      feature: string;
      user_id: string;
      job_id: string | null;
      released_at: Date | null;
      reserved: Micros;
      charged: Micros;
      released: Micros;
      expired: Micros;
    }>(
      `SELECT h.feature, h.user_id, h.job_id, h.released_at,
              coalesce(sum(e.held_change) FILTER (WHERE e.kind = 'hold'), 0)::bigint AS reserved,
              coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'charge'), 0)::bigint AS charged,
              coalesce(-sum(e.held_change) FILTER (WHERE e.kind = 'release'), 0)::bigint AS released,
              coalesce(-sum(e.held_change) FILTER (WHERE e.kind = 'expire'), 0)::bigint AS expired
         FROM holds h LEFT JOIN ledger_entries e ON e.hold_id = h.hold_id
        WHERE h.hold_id = $1 AND h.account_id = $2
        GROUP BY h.hold_id`,
      [holdId, accountId],
    );
    const hold = rows[0];
    if (!hold) throw new LedgerError('UNKNOWN_HOLD', `hold ${holdId} does not exist on account "${accountId}"`, { holdId });
    const held = await heldInForce(client, holdId, now);
    return {
      holdId,
      accountId,
      feature: hold.feature,
      userId: hold.user_id,
      jobId: hold.job_id,
      status: hold.released_at ? 'released' : 'open',
      held,
      reserved: hold.reserved,
      charged: hold.charged,
      released: hold.released,
      expired: hold.expired,
    };
  }

  /** `credits_expire` in one of its modes, for one grant or every grant due. */
  async function expire(accountId: string, grantId: string | null, now: Date, mode: 'expire' | 'revoke' | 'due'): Promise<ExpireResult[]> {
    return callLedger(pool, 'credits_expire', [
      { value: accountId, type: 'text' },
      { value: grantId, type: 'bigint' },
      { value: now, type: 'timestamptz' },
      { value: mode, type: 'text' },
    ]);
  }

  const only = ([result]: ExpireResult[]): ExpireResult => {
    if (!result) throw new Error('invariant: an expiry of one grant answered none');
    return result;
  };

  /** Ends a grant that is past its expiry: what is left, held or not, leaves the balance. */
  async function expireGrant(raw: ExpireGrantInput): Promise<ExpireResult> {
    const input = parseInput(expireGrantInput, raw);
    return only(await expire(input.accountId, input.grantId, input.now, 'expire'));
  }

  /**
   * Withdraws a grant that has not taken effect yet (an allowance written ahead for a period that a
   * downgrade or cancellation changed). Nothing can have been spent from it. Revoking twice is a no-op.
   */
  async function revokePendingGrant(raw: ExpireGrantInput): Promise<ExpireResult> {
    const input = parseInput(expireGrantInput, raw);
    return only(await expire(input.accountId, input.grantId, input.now, 'revoke'));
  }

  /** Expires every grant of the account whose expiry has passed; running it again does nothing. */
  async function expireDue(raw: { accountId: string; now: Date }): Promise<ExpireResult[]> {
    const input = parseInput(accountAtInput, raw);
    return expire(input.accountId, null, input.now, 'due');
  }

  return {
    catalog,
    ...operatorOperations(catalog, pool),
    createAccount,
    getAccount,
    lockAccountFor,
    authorizeSpender,
    /** The catalog's feature, or UNKNOWN_FEATURE. */
    requireFeature: (featureId: string) => requireFeature(catalog, featureId),
    setUser,
    updateSettings,
    getSettings,
    listUsers,
    setAccountPlan,
    grant,
    topUp,
    charge,
    estimate,
    reserve,
    extendHold,
    chargeHold,
    storeJobResults,
    releaseHold,
    holdState,
    expireGrant,
    expireDue,
    revokePendingGrant,
    ...createReports(pool),
    audit: (options: { accountId?: string } = {}) => auditLedger(pool, options),
  };
}

function toSettings(account: AccountRow): AccountSettings {
  return { accountId: account.account_id, unknownUsers: account.unknown_users, lowBalanceMicros: account.low_balance_micros };
}

function toAccountView(account: AccountRow): AccountView {
  return {
    accountId: account.account_id,
    planId: account.plan_id,
    seats: account.seats,
    timeZone: account.time_zone,
    status: account.status,
    createdAt: account.created_at.toISOString(),
  };
}

function toAccountResult(account: AccountRow, created: boolean): AccountResult {
  return { ...toAccountView(account), created };
}
