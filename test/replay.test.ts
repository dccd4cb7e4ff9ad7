import { readdirSync, readFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR } from './support/histories.js';
import { quietTemporalRuntime, workflowBundle } from './support/temporal.js';

/**
 * Histories recorded from real runs (`npm run test:record-histories`) must replay against the
 * current workflow code: a change that breaks determinism fails here instead of in production.
 */
describe('recorded workflow histories replay deterministically', () => {
  const files = readdirSync(HISTORIES_DIR).filter((file) => file.endsWith('.pb')).sort();

  it('has recorded histories of every account, job and webhook scenario', () => {
    const scenarios = new Set(files.map((file) => file.split('.run-')[0]));
    // job-v1-*: recorded on the job workflow as it was before a cancel marked the job's row (the
    // `cancel-batch-in-flight` patch), so jobs running on that release finish on this one.
    // job-v2-*: recorded before a job ran its batches over ranges of records, several at once (the
    // `batches-over-ranges` patch): jobs running one batch at a time go on that way.
    const jobScenarios = ['job-cancel', 'job-continue-as-new', 'job-pause-resume'];
    const jobReleases = ['job-v1-', 'job-v2-'];
    const webhookScenarios = ['webhook-continue-as-new', 'webhook-deliver', 'webhook-retry'];
    // account-v1-*: recorded on the account workflow as it was before an account opened and crossed
    // each boundary in one ledger transaction (the `open-in-one-transaction` and
    // `boundary-in-one-transaction` patches), so accounts running on that release go on on this one.
    // account-v2-*: recorded before a run continued as new every four periods (the
    // `runs-of-four-periods` patch; many-periods crosses 24 boundaries in its first run), so runs of
    // that release go on to their 24th.
    const accountV1Scenarios = ['cancel', 'downgrade', 'repeat-start', 'upgrade-seats'];
    const accountScenarios = [...accountV1Scenarios, 'many-periods'];
    expect([...scenarios].sort()).toEqual(
      [
        ...accountScenarios,
        ...accountV1Scenarios.map((name) => `account-v1-${name}`),
        ...accountScenarios.map((name) => `account-v2-${name}`),
        ...jobScenarios,
        ...jobReleases.flatMap((release) => jobScenarios.map((name) => name.replace('job-', release))),
        ...webhookScenarios,
      ].sort(),
    );
  });

  it(`replays all ${files.length} runs`, async () => {
    quietTemporalRuntime();
    const histories = files.map((file) => ({ workflowId: file, history: temporal.api.history.v1.History.decode(readFileSync(`${HISTORIES_DIR}/${file}`)) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
