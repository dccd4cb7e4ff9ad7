import { status as grpcStatus } from '@grpc/grpc-js';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { LEDGER_ERROR_CODES, type LedgerErrorCode } from '../ledger/errors.js';
import type { AccountView as LedgerAccountView } from '../ledger/ledger.js';
import { openAccount, startAccount, type StartAccountInput } from './accounts.js';
import { TemporalUnavailable, WorkflowRefused, type WorkflowRefusalCode } from './errors.js';
import { beginJob, startJob, type StartJobInput } from './jobs.js';
import {
  accountStateQuery,
  accountWorkflowId,
  cancelUpdate,
  changeContractUpdate,
  changePlanUpdate,
  type AccountView as AccountWorkflowView,
  type ContractChangeInput,
  type ContractChangeResult,
  type CancelResult,
  type ChangePlanInput,
  type ChangePlanResult,
} from '../../workflows/account-messages.js';
import type { accountWorkflow } from '../../workflows/account.js';
import { cancelJobUpdate, jobWorkflowId, resumeJobUpdate, type JobStarted, type ResumeResult } from '../../workflows/job-messages.js';

/** How long a call waits for Temporal and a worker before the API answers 503, unless told otherwise. */
const DEFAULT_CALL_DEADLINE_MS = 15_000;
/** How long opening an account waits for its workflow to have written its first periods. */
const OPENING_DEADLINE_MS = 10_000;
/** How long starting a job waits for it to have begun (its hold reserved). */
const STARTING_DEADLINE_MS = 10_000;
/** How long reading an account waits for its workflow's answer before showing the ledger alone. */
const QUERY_DEADLINE_MS = 3_000;

/**
 * Temporal's server could not be reached or did not answer in time, here or in the error's causes.
 * An update call cut off by its deadline is reported as "timed out or cancelled", not always with a
 * gRPC status among its causes (under CI load one was answered as an internal error).
 */
function unreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
    if (isGrpcServiceError(current) && (current.code === grpcStatus.DEADLINE_EXCEEDED || current.code === grpcStatus.UNAVAILABLE)) return true;
  }
  return false;
}

/**
 * The client side of Temporal, in one place: starting the account and job workflows, querying them
 * and sending them updates, with Temporal's failures turned into neutral errors (src/temporal/errors.ts).
 */
export function createTemporalGateway({ client, taskQueue, callDeadlineMs = DEFAULT_CALL_DEADLINE_MS }: { client: Client; taskQueue: string; callDeadlineMs?: number }) {
  async function call<T>(deadlineMs: number, work: () => Promise<T>): Promise<T> {
    try {
      return await client.connection.withDeadline(Date.now() + deadlineMs, work);
    } catch (error) {
      if (unreachable(error)) {
        throw new TemporalUnavailable(`Temporal did not answer within ${deadlineMs / 1000} s: is the server up and a worker polling task queue "${taskQueue}"?`);
      }
      throw error;
    }
  }

  /**
   * Turns a refused or failed update into a WorkflowRefused: a business failure keeps its code (such
   * as INSUFFICIENT_CREDITS with its details), a validator's refusal is a state conflict.
   */
  function updateError(error: unknown, conflict: WorkflowRefusalCode, notRunning: string): unknown {
    if (error instanceof WorkflowNotFoundError) return new WorkflowRefused(conflict, notRunning);
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const failure = error.cause;
      const code = LEDGER_ERROR_CODES.find((known): known is LedgerErrorCode => known === failure.type);
      const details = (failure.details?.[0] ?? {}) as Record<string, unknown>;
      return new WorkflowRefused(code ?? conflict, failure.message, code ? details : {});
    }
    return error;
  }

  /**
   * Sends an update to the account's workflow. An active account whose workflow is not running (it
   * was cancelled or terminated from outside, in the Web UI or the CLI) gets it restarted from the
   * ledger's view first: that grants nothing twice, since a period's allowance is written once.
   */
  async function updateAccount<R>(account: LedgerAccountView, send: (handle: WorkflowHandle<typeof accountWorkflow>) => Promise<R>): Promise<R> {
    const attempt = () => call(callDeadlineMs, () => send(client.workflow.getHandle(accountWorkflowId(account.accountId))));
    try {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError && account.status === 'active')) throw error;
        await call(callDeadlineMs, () =>
          startAccount(client, taskQueue, { accountId: account.accountId, planId: account.planId, seats: account.seats, timeZone: account.timeZone, startAt: account.createdAt, trial: false }),
        );
        return await attempt();
      }
    } catch (error) {
      throw updateError(error, 'ACCOUNT_STATE_CONFLICT', `account "${account.accountId}" is ${account.status} and has no running billing workflow`);
    }
  }

  /**
   * Update-with-start, answered within `deadlineMs`; when no answer comes in time, makes sure the
   * workflow is started (if Temporal is down, this fails too) and answers null: the workflow
   * answers the update's question once a worker runs it.
   */
  async function updateWithStartOrStart<T>(deadlineMs: number, updateWithStart: () => Promise<T>, start: () => Promise<unknown>): Promise<T | null> {
    try {
      return await client.connection.withDeadline(Date.now() + Math.min(deadlineMs, callDeadlineMs), updateWithStart);
    } catch (error) {
      if (!unreachable(error)) throw error;
      await call(callDeadlineMs, start);
      return null;
    }
  }

  return {
    /**
     * Starts the account's workflow and answers its view once it is open, in one call
     * (update-with-start). Null when it is not open in time (is a worker polling?): its workflow is
     * started by then, and opens the account when a worker comes.
     */
    openAccount: (input: StartAccountInput): Promise<AccountWorkflowView | null> =>
      updateWithStartOrStart(OPENING_DEADLINE_MS, () => openAccount(client, taskQueue, input), () => startAccount(client, taskQueue, input)),

    /** The account workflow's own view, or null when it cannot answer right now. */
    async accountState(accountId: string): Promise<AccountWorkflowView | null> {
      try {
        return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
          client.workflow.getHandle(accountWorkflowId(accountId)).query(accountStateQuery),
        );
      } catch {
        return null;
      }
    },

    changePlan: (account: LedgerAccountView, change: ChangePlanInput): Promise<ChangePlanResult> =>
      updateAccount(account, (handle) => handle.executeUpdate(changePlanUpdate, { args: [change] })),

    changeContract: (account: LedgerAccountView, change: ContractChangeInput): Promise<ContractChangeResult> =>
      updateAccount(account, (handle) => handle.executeUpdate(changeContractUpdate, { args: [change] })),

    cancelAccount: (account: LedgerAccountView): Promise<CancelResult> => updateAccount(account, (handle) => handle.executeUpdate(cancelUpdate)),

    /**
     * Starts the job's workflow and answers once the job has begun, in one call (update-with-start).
     * Null when it has not begun in time (is a worker polling?): its workflow is started by then and
     * begins the job when a worker comes. Null too when the job's workflow ended before it began
     * (terminated from outside): a job's workflow is not started twice.
     */
    async startJob(input: StartJobInput): Promise<JobStarted | null> {
      try {
        return await updateWithStartOrStart(STARTING_DEADLINE_MS, () => beginJob(client, taskQueue, input), () => startJob(client, taskQueue, input));
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return null;
        throw error;
      }
    },

    async resumeJob(jobId: string): Promise<ResumeResult> {
      try {
        return await call(callDeadlineMs, () => client.workflow.getHandle(jobWorkflowId(jobId)).executeUpdate(resumeJobUpdate));
      } catch (error) {
        throw updateError(error, 'JOB_STATE_CONFLICT', `job "${jobId}" is not running: only a paused job can be resumed`);
      }
    },

    /**
     * How the job's workflow ended when it is no longer running (terminated or timed out from
     * outside, in the Web UI or the CLI), or null while it runs or when Temporal cannot tell now.
     */
    async endedJobWorkflow(jobId: string): Promise<string | null> {
      try {
        const description = await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => client.workflow.getHandle(jobWorkflowId(jobId)).describe());
        const status = description.status.name;
        return status === 'RUNNING' ? null : `its workflow ended as ${status.toLowerCase().replaceAll('_', ' ')} outside the engine (the Temporal Web UI or CLI)`;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return 'its workflow no longer exists';
        return null;
      }
    },

    /**
     * Cancels the job: true once its row says it ended (its hold released), false when it has no
     * workflow (a draft, or one that already ended).
     */
    async cancelJob(jobId: string): Promise<boolean> {
      try {
        await call(callDeadlineMs, () => client.workflow.getHandle(jobWorkflowId(jobId)).executeUpdate(cancelJobUpdate));
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw updateError(error, 'JOB_STATE_CONFLICT', `job "${jobId}" has no running workflow`);
      }
    },
  };
}

export type TemporalGateway = ReturnType<typeof createTemporalGateway>;
