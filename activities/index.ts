import { createAccountActivities, type AccountActivityDeps } from './account-activities.js';
import { createJobActivities, type JobActivityDeps } from './job-activities.js';
import { createWebhookActivities, type WebhookActivityDeps } from './webhook-activities.js';

export type ActivityDeps = AccountActivityDeps & JobActivityDeps & WebhookActivityDeps;

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createAccountActivities(deps), ...createJobActivities(deps), ...createWebhookActivities(deps) };
}
