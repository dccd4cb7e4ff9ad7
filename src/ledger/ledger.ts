/**
 * The ledger's facade: every operation of the ledger, bound to the pool (each its own transaction,
 * charges group-committed) or to a transaction the caller holds (`within`). Each operation lives in
 * the module of its verb, as a plain function of (scope, input); jobs and the API use only this.
 */
import type pg from 'pg';
import type { Catalog } from '../catalog/catalog.js';
import { ledgerMetrics } from '../metrics/metrics.js';
import { activateAccount, createAccount, authorizeSpender, getAccount, listAccounts, lockAccountFor, setAccountPlan } from './accounts.js';
import { adjust, refund } from './adjustments.js';
import { writePeriodAllowance } from './allowances.js';
import { auditLedger } from './audit.js';
import { overdueBoundaries } from './boundaries.js';
import { batchRunner, runChargeBatch, type BatchItem } from './charge-batch.js';
import { charge, storeJobResults } from './charges.js';
import { completeContract, contract, setContract } from './contracts.js';
import { withTransaction, type Queryable } from './db.js';
import { estimate } from './estimates.js';
import { expireDue, expireGrant, revokePendingGrant } from './expiry.js';
import { grant, topUp } from './grants.js';
import { createGroupCommit, DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './group-commit.js';
import { chargeHold, extendHold, holdState, releaseHold, reserve } from './holds.js';
import { DEFAULT_PRIORITY, requireFeature } from './internals.js';
import { charges, entries } from './explain.js';
import { balance, listGrants, usage } from './reports.js';
import { statement } from './statement.js';
import type { LedgerScope } from './scope.js';
import { getSettings, listUsers, setUser, updateSettings } from './users.js';

export { DEFAULT_PRIORITY };
export type { AccountResult, AccountView, CreateAccountInput, LockedAccount, SetAccountPlanInput } from './accounts.js';
export type { AccountSettings, AccountSettingsInput, AccountUsers, SetUserInput } from './users.js';
export type { ChargeResult, JobRecordResult, StoredJobResults } from './charge-batch.js';
export type { ChargeInput } from './charges.js';
export type { EstimateInput, EstimateResult } from './estimates.js';
export type { ExpireGrantInput, ExpireResult } from './expiry.js';
export type { GrantInput, GrantResult, TopUpInput } from './grants.js';
export type { ChargeHoldInput, ExtendHoldInput, HoldChargeResult, HoldRefInput, HoldResult, HoldState, ReserveInput } from './holds.js';
export type { Transaction } from './scope.js';
export type { ChargeListItem, EntryCause, LedgerEntryView } from './explain.js';
export type { Statement } from './statement.js';

export interface LedgerDeps {
  pool: pg.Pool;
  catalog: Catalog;
  /** How concurrent charges are coalesced into transactions (src/ledger/group-commit.ts). */
  groupCommit?: GroupCommitOptions;
}

export type Ledger = ReturnType<typeof createLedger>;
export type LedgerOperations = ReturnType<typeof ledgerOperations>;

/** The ledger: every operation is one PostgreSQL transaction, and every mutation is idempotent. */
export function createLedger({ pool, catalog, groupCommit = DEFAULT_GROUP_COMMIT }: LedgerDeps) {
  const batches = createGroupCommit((items: BatchItem[]) => {
    ledgerMetrics.batchSize.observe(items.length);
    return runChargeBatch(pool, catalog, items);
  }, groupCommit);
  return {
    ...ledgerOperations({ catalog, db: pool, transaction: (work) => withTransaction(pool, work), inBatch: batchRunner((item) => batches.submit(item)) }),
    /**
     * The same operations inside a transaction the caller already holds, so that its own writes
     * (a job's results, an outbox event) commit or roll back together with the ledger's.
     */
    within: (client: Queryable): LedgerOperations =>
      ledgerOperations({
        catalog,
        db: client,
        transaction: (work) => work(client),
        inBatch: batchRunner(async (item) => {
          const [outcome] = await runChargeBatch(client, catalog, [item]);
          if (!outcome) throw new Error('invariant: a batch of one answered no outcome');
          return outcome;
        }),
      }),
  };
}

function ledgerOperations(scope: LedgerScope) {
  const bind =
    <I, R>(verb: (scope: LedgerScope, input: I) => R) =>
    (input: I): R =>
      verb(scope, input);
  return {
    catalog: scope.catalog,
    createAccount: bind(createAccount),
    activateAccount: bind(activateAccount),
    getAccount: bind(getAccount),
    listAccounts: bind(listAccounts),
    lockAccountFor: bind(lockAccountFor),
    authorizeSpender: bind(authorizeSpender),
    /** The catalog's feature, or UNKNOWN_FEATURE. */
    requireFeature: (featureId: string) => requireFeature(scope.catalog, featureId),
    setAccountPlan: bind(setAccountPlan),
    setUser: bind(setUser),
    updateSettings: bind(updateSettings),
    getSettings: bind(getSettings),
    listUsers: bind(listUsers),
    grant: bind(grant),
    writePeriodAllowance: bind(writePeriodAllowance),
    topUp: bind(topUp),
    charge: bind(charge),
    storeJobResults: bind(storeJobResults),
    estimate: bind(estimate),
    reserve: bind(reserve),
    extendHold: bind(extendHold),
    chargeHold: bind(chargeHold),
    releaseHold: bind(releaseHold),
    holdState: bind(holdState),
    expireGrant: bind(expireGrant),
    expireDue: bind(expireDue),
    revokePendingGrant: bind(revokePendingGrant),
    adjust: bind(adjust),
    refund: bind(refund),
    setContract: bind(setContract),
    completeContract: bind(completeContract),
    contract: bind(contract),
    balance: bind(balance),
    usage: bind(usage),
    entries: bind(entries),
    charges: bind(charges),
    listGrants: bind(listGrants),
    statement: bind(statement),
    overdueBoundaries: bind(overdueBoundaries),
    audit: (options: { accountId?: string } = {}) => auditLedger(scope.db, options),
  };
}
