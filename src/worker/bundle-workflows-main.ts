/** The bundler process of `bundleWorkflowsApart` (src/worker/workflow-code.ts): bundles, sends the code, exits. */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOWS_PATH, type BundledWorkflows } from './workflow-code.js';

const send = process.send?.bind(process);
if (!send) throw new Error('the workflow bundler runs as a child of the worker (bundleWorkflowsApart), with an IPC channel');
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
const answer: BundledWorkflows = { code };
send(answer, undefined, {}, (error) => {
  if (error) throw error;
  process.disconnect();
});
