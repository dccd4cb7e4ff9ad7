/**
 * The workflow of the Temporal ceilings (bench/temporal-ceiling.ts): the least an account's
 * workflow does, with no activity and no ledger. It answers an update at once (as an account
 * answers `opened`), sleeps until its boundary, and ends when it wakes.
 */
import { defineUpdate, setHandler, sleep } from '@temporalio/workflow';

export const ceilingOpenedUpdate = defineUpdate<boolean>('ceilingOpened');

export interface CeilingWorkflowInput {
  /** ISO instant the workflow sleeps until. */
  wakeAt: string;
}

export async function ceilingWorkflow(input: CeilingWorkflowInput): Promise<void> {
  setHandler(ceilingOpenedUpdate, () => true);
  const sleepMs = new Date(input.wakeAt).getTime() - Date.now();
  if (sleepMs > 0) await sleep(sleepMs);
}
