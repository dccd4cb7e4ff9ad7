import { describe, expect, it } from 'vitest';
import { startAccount } from '../src/temporal/accounts.js';
import { registerSearchAttributes } from '../src/temporal/search-attributes.js';
import { ACCOUNT_ID, PLAN_ID } from '../workflows/search-attributes.js';
import { eventually, useWorkerStack } from './support/temporal.js';

const TASK_QUEUE = 'visibility';

const stack = useWorkerStack({ server: 'dev', taskQueue: TASK_QUEUE, audit: false });

async function workflowIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of stack().env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids.sort();
}

describe('operators find accounts in the Temporal UI', () => {
  it('by AccountId, PlanId, AccountStatus and PeriodEnd', async () => {
    const { env } = stack();
    // Registering again is a no-op on a server that already has them.
    await registerSearchAttributes(env.connection, env.namespace ?? 'default');
    const startAt = new Date().toISOString();
    const accounts = [
      { accountId: 'sa-alpha', planId: 'bim-premium-regional' },
      { accountId: 'sa-beta', planId: 'bim-premium-regional' },
      { accountId: 'sa-gamma', planId: 'sales-email-pro' },
    ];
    for (const account of accounts) {
      await startAccount(env.client, TASK_QUEUE, { ...account, seats: 1, timeZone: 'UTC', startAt, trial: false });
    }
    expect(await eventually(() => workflowIds("AccountId = 'sa-beta'"), (ids) => ids.length === 1, 'AccountId visible')).toEqual(['account:sa-beta']);
    expect(await eventually(() => workflowIds("PlanId = 'bim-premium-regional'"), (ids) => ids.length === 2, 'PlanId visible')).toEqual([
      'account:sa-alpha',
      'account:sa-beta',
    ]);
    // The period end is upserted by the workflow once it has opened the account. (Operators ask
    // for ranges, "renewing before X"; exact datetime equality does not match on the dev server.)
    const firstOfNextMonth = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1);
    const around = (offsetMs: number) => new Date(firstOfNextMonth + offsetMs).toISOString();
    const byPeriodEnd = await eventually(
      () => workflowIds(`AccountStatus = 'active' AND PeriodEnd BETWEEN '${around(-1000)}' AND '${around(1000)}'`),
      (ids) => ids.length === 3,
      'AccountStatus and PeriodEnd visible',
    );
    expect(byPeriodEnd).toEqual(['account:sa-alpha', 'account:sa-beta', 'account:sa-gamma']);
    const description = await env.client.workflow.getHandle('account:sa-gamma').describe();
    expect(description.typedSearchAttributes.get(PLAN_ID)).toBe('sales-email-pro');
    expect(description.typedSearchAttributes.get(ACCOUNT_ID)).toBe('sa-gamma');
  });
});
