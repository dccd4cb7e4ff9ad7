import { WithStartWorkflowOperation, type Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { accountWorkflowId, openedUpdate, type AccountView, type AccountWorkflowInput } from '../../workflows/account-messages.js';
import type { accountWorkflow } from '../../workflows/account.js';
import { ACCOUNT_ID, ACCOUNT_STATUS, PERIOD_END, PLAN_ID } from '../../workflows/search-attributes.js';
import { startOnce } from './start-once.js';

export type StartAccountInput = Omit<AccountWorkflowInput, 'carried'>;

/**
 * How an account's period workflow is started. Its id is derived from the account id: while the
 * account runs, the existing run is used; once a cancelled account has ended, starting it again
 * re-subscribes it (the ledger still never grants a second trial).
 */
function accountStartOptions(taskQueue: string, input: StartAccountInput): WorkflowStartOptions<typeof accountWorkflow> & { workflowIdConflictPolicy: 'USE_EXISTING' } {
  return {
    workflowId: accountWorkflowId(input.accountId),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: ACCOUNT_ID, value: input.accountId },
      { key: PLAN_ID, value: input.planId },
      { key: ACCOUNT_STATUS, value: 'active' },
      { key: PERIOD_END, value: new Date(input.startAt) },
    ],
    staticSummary: `Billing periods of account ${input.accountId}`,
    staticDetails: `Grants each period's allowance of plan ${input.planId} (${input.seats} seat(s), ${input.timeZone}), expires what is left at the period's end, and continues as new every period.`,
  };
}

/** Starts the account's period workflow. Safe to repeat. */
export async function startAccount(client: Client, taskQueue: string, input: StartAccountInput): Promise<WorkflowHandle<typeof accountWorkflow>> {
  return startOnce<typeof accountWorkflow>(client, 'accountWorkflow', accountStartOptions(taskQueue, input));
}

/**
 * Starts the account's period workflow (or finds it running) and answers its view once it is open,
 * in one call: update-with-start of `openedUpdate`. Safe to repeat.
 */
export async function openAccount(client: Client, taskQueue: string, input: StartAccountInput): Promise<AccountView> {
  return client.workflow.executeUpdateWithStart(openedUpdate, {
    startWorkflowOperation: new WithStartWorkflowOperation<typeof accountWorkflow>('accountWorkflow', accountStartOptions(taskQueue, input)),
  });
}
