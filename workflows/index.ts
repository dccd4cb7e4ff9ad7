export { accountWorkflow } from './account.js';
export { jobWorkflow } from './job.js';
export { webhookDeliveryWorkflow } from './webhooks.js';
