/**
 * `npm run dev` watches the servers it started. The real launcher runs as a child process; the
 * test SIGKILLs its PostgreSQL postmaster, then its Temporal dev server, and expects each to be
 * restarted on the same data and port while the launcher stays up and the API serves again. A
 * Ctrl-C during a restart still stops everything in order with exit code 0. A PostgreSQL that
 * cannot start again is given up on: everything stops in order, the reason is printed, exit code 1.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_RESTARTS } from '../src/devstack/supervise.js';
import {
  eventually,
  exitOf,
  expectCleanStop,
  expectStoppedInOrder,
  get,
  startDev,
  stopAllDev,
  stopIfRunning,
  STOP_TIMEOUT_MS,
  waitForOutput,
  withTemporalClient,
  type RunningDev,
} from './support/dev-process.js';

const dataDirs: string[] = [];

function freshDataDir(): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'credits-dev-supervision-'));
  dataDirs.push(dataDir);
  return dataDir;
}

/** The postmaster's pid: the first line of the lock file it writes into its data directory. */
function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** The Temporal dev servers running on this data directory's SQLite file. */
function temporalServerPids(dataDir: string): number[] {
  try {
    const found = execFileSync('pgrep', ['-f', '--', `--db-filename ${path.join(dataDir, 'temporal.db')}`], { encoding: 'utf8' });
    return found.trim().split('\n').map(Number);
  } catch (error) {
    // pgrep exits 1 when nothing matches.
    if ((error as { status?: unknown }).status === 1) return [];
    throw error;
  }
}

/** Whether a postmaster runs on the data directory (a clean shutdown removes its lock file, a SIGKILL does not). */
function postmasterRunning(dataDir: string): boolean {
  if (!existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))) return false;
  try {
    process.kill(postmasterPid(dataDir), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function expectLauncherAlive(dev: RunningDev): void {
  expect({ code: dev.child.exitCode, signal: dev.child.signalCode }, dev.output()).toEqual({ code: null, signal: null });
}

async function demoAccountStatus(dev: RunningDev): Promise<number> {
  return (await get(`${dev.banner.api}/v1/accounts/demo`, dev.banner.token)).status;
}

/** Kills `pid` and waits for the launcher's line saying which server exited how. */
async function killAndSeeRestart(dev: RunningDev, pid: number, server: string, attempt: number): Promise<number> {
  const since = dev.output().length;
  process.kill(pid, 'SIGKILL');
  const line = new RegExp(`\\[dev\\] ${server} \\(port \\d+\\) exited unexpectedly \\(signal SIGKILL\\); restarting it on the same data and port \\(attempt ${attempt} of ${MAX_RESTARTS}\\)`);
  await waitForOutput(dev, line, `the line saying ${server} is restarted`, 10_000, since);
  return since;
}

afterAll(async () => {
  await stopAllDev();
  for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
}, STOP_TIMEOUT_MS * 2 + 10_000);

describe('npm run dev supervision', () => {
  it('restarts a killed PostgreSQL and Temporal dev server, and stops cleanly on SIGINT during a restart', async () => {
    const dataDir = freshDataDir();
    const dev = await startDev(dataDir);
    try {
      console.log(`banner after ${(dev.startedInMs / 1000).toFixed(1)} s`);
      expect(await demoAccountStatus(dev)).toBe(200);

      const postmaster = postmasterPid(dataDir);
      const pgSince = await killAndSeeRestart(dev, postmaster, 'PostgreSQL', 1);
      const pgBack = await waitForOutput(dev, /PostgreSQL \(port \d+\) is back after ([\d.]+) s/, 'PostgreSQL back', 30_000, pgSince);
      console.log(`PostgreSQL back after ${pgBack[1] ?? '?'} s`);
      expect(postmasterPid(dataDir)).not.toBe(postmaster);
      await eventually(() => demoAccountStatus(dev), (status) => status === 200, 'the API to serve the demo account again');
      expectLauncherAlive(dev);

      const [temporal] = temporalServerPids(dataDir);
      if (temporal === undefined) throw new Error('no Temporal dev server runs on the data directory');
      const temporalSince = await killAndSeeRestart(dev, temporal, 'the Temporal dev server', 1);
      const temporalBack = await waitForOutput(dev, /the Temporal dev server \(port \d+\) is back after ([\d.]+) s/, 'the Temporal dev server back', 60_000, temporalSince);
      console.log(`Temporal dev server back after ${temporalBack[1] ?? '?'} s`);
      expect(temporalServerPids(dataDir)).toHaveLength(1);
      const accountWorkflow = await eventually(
        () => withTemporalClient(dev.banner.temporalAddress, (client) => client.workflow.getHandle('account:demo').describe()),
        (description) => description.status.name === 'RUNNING',
        'the demo account workflow on the restarted server',
      );
      expect(accountWorkflow.type).toBe('accountWorkflow');
      // Through the API and its Temporal client: the account's workflow is started on the restarted server.
      const created = await fetch(`${dev.banner.api}/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dev.banner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: 'after-restart', planId: 'sales-email-pro', seats: 1, users: [{ userId: 'admin', role: 'admin' }] }),
        signal: AbortSignal.timeout(30_000),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      expectLauncherAlive(dev);

      // Ctrl-C while PostgreSQL is being restarted: nothing may be left running.
      await killAndSeeRestart(dev, postmasterPid(dataDir), 'PostgreSQL', 2);
      await expectCleanStop(dev, 'SIGINT during a PostgreSQL restart');
      expect(postmasterRunning(dataDir)).toBe(false);
      expect(temporalServerPids(dataDir)).toEqual([]);
    } finally {
      await stopIfRunning(dev);
    }
  }, 120_000);

  it('gives up on a PostgreSQL that cannot start again: stops everything in order, says why, exits 1', async () => {
    const dataDir = freshDataDir();
    const dev = await startDev(dataDir, { CREDITS_DEV_SEED: '0' });
    try {
      // The running server read its configuration at start; every restart reads this and fails.
      appendFileSync(path.join(dataDir, 'postgres', 'postgresql.conf'), '\nthis is not a setting\n');
      await killAndSeeRestart(dev, postmasterPid(dataDir), 'PostgreSQL', 1);
      const exit = await exitOf(dev, 60_000);
      expect(exit, dev.output()).toEqual({ code: 1, signal: null });
      const output = dev.output();
      expect(output).toMatch(new RegExp(`PostgreSQL \\(port \\d+\\) did not start again \\(.*\\); retrying in [\\d.]+ s \\(attempt ${MAX_RESTARTS} of ${MAX_RESTARTS}\\)`));
      expect(output).toMatch(/\[dev\] giving up: stopping everything/);
      expect(output).toMatch(new RegExp(`\\[dev\\] PostgreSQL \\(port \\d+\\) exited unexpectedly \\(signal SIGKILL\\) and could not be kept running: ${MAX_RESTARTS} restart attempts`));
      expect(output.indexOf('[dev] giving up')).toBeLessThan(output.indexOf('[dev] stopping the API'));
      await expectStoppedInOrder(dev);
      expect(postmasterRunning(dataDir)).toBe(false);
      expect(temporalServerPids(dataDir)).toEqual([]);
    } finally {
      await stopIfRunning(dev);
    }
  }, 120_000);
});
