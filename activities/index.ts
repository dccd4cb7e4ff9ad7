import { createAccountActivities, type AccountActivityDeps } from './account-activities.js';

export type ActivityDeps = AccountActivityDeps;

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createAccountActivities(deps) };
}
