import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/** Set RECORD_HISTORIES=1 to (re)write the replay fixtures from the scenarios that ran. */
export const recording = process.env.RECORD_HISTORIES === '1';

/**
 * Writes the history of every run (as protobuf: the JSON helpers trip over two protobufjs copies) of a workflow (following continue-as-new) to test/histories, so
 * that the replay test can prove later workflow code still replays them deterministically.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!recording) return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const { runId: firstRunId } = await client.workflow.getHandle(workflowId).describe().then((description) => ({ runId: description.raw.workflowExecutionInfo?.firstRunId ?? description.runId }));
  let runId: string | undefined = firstRunId;
  for (let run = 0; runId && run < 50; run++) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    writeFileSync(`${HISTORIES_DIR}/${name}.run-${String(run).padStart(2, '0')}.pb`, temporal.api.history.v1.History.encode(history).finish());
    const last = history.events?.at(-1);
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}
