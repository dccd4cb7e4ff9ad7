export { accountWorkflow } from './account.js';
