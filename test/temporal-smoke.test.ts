/**
 * Smoke tests: both Temporal binaries installed by `npm run tools:install` start through
 * `@temporalio/testing` and run a worker with a bundled workflow.
 *
 * - the time-skipping test server (`temporal-test-server`): a 30-day sleep finishes in seconds;
 * - the CLI dev server (`temporal server start-dev`): a trivial workflow round-trips.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalCliPath, temporalTestServerPath } from '../src/devstack/temporal-binaries.js';
import type { echo, sleepThenGreet } from './fixtures/smoke-workflows.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('./fixtures/smoke-workflows.ts', import.meta.url));
const DAY_MS = 24 * 60 * 60 * 1000;

/** Server start (a few seconds, more on a loaded machine) plus worker start-up. */
const SETUP_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 30_000;

let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  // Worker lifecycle logs are INFO by default; keep only warnings. The Runtime is a per-process
  // singleton, so leave it alone if something else in this process already created it.
  if (Runtime._instance === undefined) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  }
  // Bundle once (webpack, the slow part of worker creation) and share it between both workers.
  bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
}, SETUP_TIMEOUT_MS);

describe('time-skipping test server (temporal-test-server)', () => {
  let env: TestWorkflowEnvironment | undefined;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await env?.teardown();
  }, SETUP_TIMEOUT_MS);

  it(
    'runs a workflow that sleeps 30 days in a few seconds of wall time',
    async () => {
      const testEnv = requireEnv(env);
      expect(testEnv.supportsTimeSkipping).toBe(true);
      const taskQueue = `smoke-ts-${randomUUID()}`;
      const worker = await Worker.create({
        connection: testEnv.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
      });

      const wallStart = performance.now();
      const result = await worker.runUntil(
        testEnv.client.workflow.execute<typeof sleepThenGreet>('sleepThenGreet', {
          taskQueue,
          workflowId: `smoke-sleep-${randomUUID()}`,
          args: ['credits', 30],
        }),
      );
      const wallMs = performance.now() - wallStart;

      expect(result.greeting).toBe('hello, credits');
      expect(result.wokeAtMs - result.startedAtMs).toBeGreaterThanOrEqual(30 * DAY_MS);
      expect(wallMs).toBeLessThan(15_000);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('dev server (temporal server start-dev)', () => {
  let env: TestWorkflowEnvironment | undefined;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        log: { format: 'pretty', level: 'error' },
      },
    });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await env?.teardown();
  }, SETUP_TIMEOUT_MS);

  it(
    'runs a trivial workflow',
    async () => {
      const testEnv = requireEnv(env);
      expect(testEnv.supportsTimeSkipping).toBe(false);
      const taskQueue = `smoke-dev-${randomUUID()}`;
      const worker = await Worker.create({
        connection: testEnv.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
      });

      const result = await worker.runUntil(
        testEnv.client.workflow.execute<typeof echo>('echo', {
          taskQueue,
          workflowId: `smoke-echo-${randomUUID()}`,
          args: ['ping'],
        }),
      );

      expect(result).toBe('echo:ping');
    },
    TEST_TIMEOUT_MS,
  );
});

function requireEnv(env: TestWorkflowEnvironment | undefined): TestWorkflowEnvironment {
  if (env === undefined) throw new Error('test environment did not start (see beforeAll error)');
  return env;
}
