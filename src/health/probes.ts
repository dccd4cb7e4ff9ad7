import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type pg from 'pg';
import type { Probe } from './watch.js';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/**
 * An idle worker's poll waits up to a minute on the server before it polls again, and the server
 * remembers a poller by the time its last poll began: a worker seen within this window is polling.
 * A worker that stopped is reported missing once this much time has passed.
 */
export const WORKER_POLL_WINDOW_MS = 90_000;

export function probeDatabase(pool: pg.Pool): Probe {
  return async () => {
    await pool.query('SELECT 1');
  };
}

/** How long one Temporal call of a probe may take; the probe's own timeout is no longer. */
const TEMPORAL_PROBE_DEADLINE_MS = 2_000;

function withinDeadline<T>(client: Client, call: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + TEMPORAL_PROBE_DEADLINE_MS, call);
}

export function probeTemporal(client: Client): Probe {
  return async () => {
    await withinDeadline(client, () => client.workflowService.getSystemInfo({}));
  };
}

/** Some worker polls both the workflow and the activity tasks of `taskQueue`. */
export function probeWorkers(client: Client, taskQueue: string, now: () => number = Date.now): Probe {
  const describe = async (taskQueueType: proto.temporal.api.enums.v1.TaskQueueType): Promise<number> => {
    const { pollers } = await withinDeadline(client, () =>
      client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType,
      }),
    );
    const seconds = pollers.map((poller) => Number(poller.lastAccessTime?.seconds ?? 0));
    return Math.max(0, ...seconds) * 1000;
  };
  return async () => {
    const [workflowPollMs, activityPollMs] = await Promise.all([describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
    const oldest = Math.min(workflowPollMs, activityPollMs);
    if (now() - oldest > WORKER_POLL_WINDOW_MS) {
      const which = workflowPollMs === 0 && activityPollMs === 0 ? 'no worker has polled it' : `no poll for ${Math.round((now() - oldest) / 1000)} s`;
      throw new Error(`no worker polls task queue "${taskQueue}" (${which})`);
    }
  };
}
