import { Connection, type Client } from '@temporalio/client';
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

export interface TemporalProbes {
  temporal: Probe;
  /** Some worker polls both the workflow and the activity tasks of the task queue. */
  worker: Probe;
  /** Closes the probes' connection; call it once no probe is in flight. */
  close: () => Promise<void>;
}

/**
 * Probes of Temporal and its workers on a connection of their own, like the client's but without
 * its retry interceptor: that one retries an unreachable server on a timer that outlives the call,
 * and a retry that fires after the connection was closed throws where nothing can catch it.
 */
export function probeTemporal(client: Client, taskQueue: string, now: () => number = Date.now): TemporalProbes {
  if (!(client.connection instanceof Connection)) throw new Error('invariant: the Temporal client to probe must be on a Connection');
  const connection = Connection.lazy({ ...client.connection.options, interceptors: [] });
  const withinDeadline = <T>(call: () => Promise<T>): Promise<T> => connection.withDeadline(Date.now() + TEMPORAL_PROBE_DEADLINE_MS, call);
  const lastPollMs = async (taskQueueType: proto.temporal.api.enums.v1.TaskQueueType): Promise<number> => {
    const { pollers } = await withinDeadline(() =>
      connection.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType,
      }),
    );
    return Math.max(0, ...pollers.map((poller) => Number(poller.lastAccessTime?.seconds ?? 0))) * 1000;
  };
  return {
    temporal: async () => {
      await withinDeadline(() => connection.workflowService.getSystemInfo({}));
    },
    worker: async () => {
      const [workflowPollMs, activityPollMs] = await Promise.all([lastPollMs(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), lastPollMs(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
      const oldest = Math.min(workflowPollMs, activityPollMs);
      if (now() - oldest > WORKER_POLL_WINDOW_MS) {
        const which = workflowPollMs === 0 && activityPollMs === 0 ? 'no worker has polled it' : `no poll for ${Math.round((now() - oldest) / 1000)} s`;
        throw new Error(`no worker polls task queue "${taskQueue}" (${which})`);
      }
    },
    close: () => connection.close(),
  };
}
