import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { WORKER_DEFAULTS, type WorkerTuning } from '../config.js';
import { WORKFLOWS_PATH } from './workflow-code.js';

export interface CreditsWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt workflow bundle (the worker's, from bundleWorkflowsApart; tests share one); bundled here from `workflows/` when omitted. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** Cache, concurrency and sticky queue (src/config.ts, WORKER_*); the defaults when omitted. */
  tuning?: Partial<WorkerTuning>;
}

export async function createCreditsWorker(options: CreditsWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    ...(options.identity ? { identity: options.identity } : {}),
    ...workerTuning({ ...WORKER_DEFAULTS, ...options.tuning }),
  });
}

/** The SDK options of the worker settings (src/config.ts WORKER_*). */
export function workerTuning(tuning: WorkerTuning): Partial<WorkerOptions> {
  return {
    maxCachedWorkflows: tuning.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: tuning.maxConcurrentLocalActivities,
    stickyQueueScheduleToStartTimeout: tuning.stickyTimeoutMs,
  };
}
