export { accountWorkflow } from './account.js';
export { jobWorkflow } from './job.js';
