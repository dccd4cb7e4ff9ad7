import { fileURLToPath } from 'node:url';

/** How the worker runs as a process of its own: what starts it, and what it logs once it polls. */

/** `scripts/worker.sh`: node with the V8 heap limit WORKER_HEAP_MB, then `src/worker/main.ts`; run it with `sh`. */
export const WORKER_LAUNCHER = fileURLToPath(new URL('../../scripts/worker.sh', import.meta.url));

/** The `msg` of the worker's (pino, JSON) log line once it polls its task queue. */
export const WORKER_STARTED = 'worker started';
