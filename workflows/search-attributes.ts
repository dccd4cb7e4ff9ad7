import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes: registered on the server by the dev stack and the tests. */
export const ACCOUNT_ID = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const PLAN_ID = defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD);
export const ACCOUNT_STATUS = defineSearchAttributeKey('AccountStatus', SearchAttributeType.KEYWORD);
export const PERIOD_END = defineSearchAttributeKey('PeriodEnd', SearchAttributeType.DATETIME);

export const JOB_STATUS = defineSearchAttributeKey('JobStatus', SearchAttributeType.KEYWORD);
export const FEATURE = defineSearchAttributeKey('Feature', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [ACCOUNT_ID, PLAN_ID, ACCOUNT_STATUS, PERIOD_END, JOB_STATUS, FEATURE] as const;
