import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The workflows' entry point, which webpack bundles for the worker's isolates. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

const BUNDLER_PATH = fileURLToPath(new URL('./bundle-workflows-main.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bundling takes 2–5 s on two cores; a bundler that hangs must not hang the worker's start. */
const BUNDLE_TIMEOUT_MS = 120_000;
/** The bundler's own V8 heap limit: a lower one meant for the worker (NODE_OPTIONS) must not starve webpack. */
const BUNDLER_HEAP_MB = 1024;

/** What the bundler process sends back: the bundle's code. */
export interface BundledWorkflows {
  code: string;
}

function isBundledWorkflows(message: unknown): message is BundledWorkflows {
  return typeof message === 'object' && message !== null && 'code' in message && typeof message.code === 'string';
}

/**
 * The workflow bundle, built by webpack in a child process that hands over the code and exits, so
 * that the worker never holds webpack's working set: bundled in the worker itself it stayed in the
 * worker's resident memory for good (README "Sizing the worker").
 */
export function bundleWorkflowsApart(): Promise<BundledWorkflows> {
  return new Promise((resolve, reject) => {
    // tsx from the project's root, whatever ran this process (tsx, vitest); a channel for the answer.
    const bundler = fork(BUNDLER_PATH, [], { cwd: PROJECT_ROOT, execArgv: ['--import', 'tsx', `--max-old-space-size=${BUNDLER_HEAP_MB}`], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], timeout: BUNDLE_TIMEOUT_MS });
    let bundled: BundledWorkflows | undefined;
    bundler.on('message', (message) => {
      if (isBundledWorkflows(message)) bundled = message;
    });
    bundler.on('error', reject);
    bundler.on('exit', (code, signal) => {
      if (bundled) resolve(bundled);
      else reject(new Error(`bundling the workflows failed: the bundler process ended (${signal ?? `exit code ${String(code)}`}) without a bundle`));
    });
  });
}
