import type { Client, WorkflowHandle } from '@temporalio/client';
import { accountWorkflowId, type AccountWorkflowInput } from '../../workflows/account-messages.js';
import type { accountWorkflow } from '../../workflows/account.js';
import { ACCOUNT_ID, ACCOUNT_STATUS, PERIOD_END, PLAN_ID } from '../../workflows/search-attributes.js';
import { startOnce } from './start-once.js';

export type StartAccountInput = Omit<AccountWorkflowInput, 'carried'>;

/**
 * Starts the account's period workflow. Safe to repeat: while the account runs, the existing run is
 * returned (its id is derived from the account id); once a cancelled account has ended, starting it
 * again re-subscribes it (the ledger still never grants a second trial).
 */
export async function startAccount(client: Client, taskQueue: string, input: StartAccountInput): Promise<WorkflowHandle<typeof accountWorkflow>> {
  return startOnce<typeof accountWorkflow>(client, 'accountWorkflow', {
    workflowId: accountWorkflowId(input.accountId),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: ACCOUNT_ID, value: input.accountId },
      { key: PLAN_ID, value: input.planId },
      { key: ACCOUNT_STATUS, value: 'active' },
      { key: PERIOD_END, value: new Date(input.startAt) },
    ],
    staticSummary: `Billing periods of account ${input.accountId}`,
    staticDetails: `Grants each period's allowance of plan ${input.planId} (${input.seats} seat(s), ${input.timeZone}), expires what is left at the period's end, and continues as new every period.`,
  });
}
