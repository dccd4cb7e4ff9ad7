import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import type { AccountView, JobView, LedgerPage } from '../src/client/client.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { API_TOKEN, startApiStack, type ApiStack } from './support/api-stack.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ACCOUNT = 'cli-acme';
const POOR = 'cli-poor';

let stack: ApiStack;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `credits <args>` as the operator would, against the test stack; `onStdout` sees output as it comes. */
function credits(args: string[], options: { env?: Record<string, string>; onStdout?: (soFar: string) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, CREDITS_API_URL: stack.api.url, CREDITS_API_TOKEN: API_TOKEN, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** A successful run's stdout. */
async function ok(args: string[]): Promise<string> {
  const run = await credits(args);
  expect(run.stderr, `credits ${args.join(' ')}`).toBe('');
  expect(run.code, `credits ${args.join(' ')}`).toBe(0);
  return run.stdout;
}

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '--json'])) as T;

async function activeAccount(accountId: string, seats: number, users: { userId: string; role: 'admin' | 'member' }[]): Promise<AccountView> {
  await stack.client.createAccount({ accountId, planId: 'sales-email-pro', seats, users });
  return eventually(() => stack.client.getAccount(accountId), (account) => account.status === 'active' && account.balance.available === 1000 * seats, `${accountId} open`);
}

beforeAll(async () => {
  // 100 ms per record keeps the watched job running long enough for a few polls.
  stack = await startApiStack({ provider: createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 100 }) });
  await activeAccount(ACCOUNT, 2, [
    { userId: 'alice', role: 'admin' },
    { userId: 'bob', role: 'member' },
  ]);
  await stack.client.charge(ACCOUNT, { feature: 'lead.email-finder', quantity: 3, userId: 'alice', idempotencyKey: 'charge-1' });
  await stack.client.charge(ACCOUNT, { feature: 'ai.variable', quantity: 2, userId: 'bob', idempotencyKey: 'charge-2' });
}, 180_000);

afterAll(async () => {
  await stack.stop();
});

describe('the credits CLI against the real API', () => {
  it('balance and grants: tables for people, the API answer with --json', async () => {
    const [human, asJson, grants, grantsJson] = await Promise.all([
      ok(['balance', ACCOUNT]),
      json<AccountView>(['balance', ACCOUNT]),
      ok(['grants', ACCOUNT]),
      json<AccountView['grants']>(['grants', ACCOUNT]),
    ]);
    const account = await stack.client.getAccount(ACCOUNT);
    expect(asJson).toEqual(account);
    expect(grantsJson).toEqual(account.grants);
    expect(account.balance.available).toBe(2000 - 15 - 2);
    expect(human).toContain(ACCOUNT);
    expect(human).toContain('sales-email-pro (2 seats)');
    expect(human).toMatch(/status\s*│\s*active/);
    expect(human).toMatch(/available\s*│\s*1,983\b/);
    expect(human).toMatch(new RegExp(`days left\\s*│\\s*${account.period?.daysLeft ?? -1}\\b`));
    expect(human).toMatch(/allowance\s*│\s*1,983\b/);
    const grant = account.grants[0];
    expect(grant).toBeDefined();
    if (!grant) return;
    expect(grants).toContain(grant.id);
    expect(grants).toMatch(new RegExp(`${grant.id}\\s*│\\s*allowance\\s*│\\s*2,000\\s*│\\s*1,983\\s*│\\s*0\\s*│\\s*1,983\\s*│\\s*active`));
  });

  it('top-up prints the key it made; repeating with that key adds nothing', async () => {
    const first = await ok(['top-up', ACCOUNT, '12.5', '--user', 'alice']);
    expect(first).toContain(`added 12.5 credits to ${ACCOUNT}`);
    expect(first).toContain('available now: 1,995.5 credits');
    const key = /idempotency key: (\S+)/.exec(first)?.[1];
    expect(key).toMatch(/^cli-top-up-/);
    if (key === undefined) return;
    expect((await stack.client.getAccount(ACCOUNT)).balance).toMatchObject({ available: 1995.5, bySource: { purchase: 12.5 } });

    const again = await json<{ grantId: string; credits: number; balance: { available: number } }>(['top-up', ACCOUNT, '12.5', '--user', 'alice', '--key', key]);
    expect(again).toMatchObject({ credits: 12.5, balance: { available: 1995.5 } });
    expect(first).toContain(again.grantId);
    expect((await stack.client.getAccount(ACCOUNT)).balance.available).toBe(1995.5);
  });

  it('API errors exit 1 with their code; usage errors exit 2', async () => {
    const [notAdmin, unknown, tooPrecise, notANumber] = await Promise.all([
      credits(['top-up', ACCOUNT, '5', '--user', 'bob']),
      credits(['balance', 'no-such-account']),
      credits(['top-up', ACCOUNT, '1.1234567', '--user', 'alice']),
      credits(['top-up', ACCOUNT, 'lots', '--user', 'alice']),
    ]);
    expect(notAdmin).toMatchObject({ code: 1, stdout: '' });
    expect(notAdmin.stderr).toMatch(/^credits: NOT_ADMIN: /);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^credits: UNKNOWN_ACCOUNT: .*no-such-account/);
    // Passed through as given: the API refuses amounts finer than a micro-credit.
    expect(tooPrecise.code).toBe(1);
    expect(tooPrecise.stderr).toMatch(/^credits: VALIDATION_FAILED: .*decimals/);
    expect(notANumber.code).toBe(2);
    expect(notANumber.stderr).toContain('must be a number of credits');
    expect((await stack.client.getAccount(ACCOUNT)).balance.available).toBe(1995.5);
  });

  it('ledger: one page with how to get the next, or --all pages through everything', async () => {
    const expected: LedgerPage['entries'] = [];
    for (let after = 0; ; ) {
      const page = await stack.client.ledger(ACCOUNT, { after, limit: 1000 });
      expected.push(...page.entries);
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(expected.length).toBeGreaterThan(3);
    const [firstPage, all] = await Promise.all([ok(['ledger', ACCOUNT, '--limit', '2']), json<LedgerPage>(['ledger', ACCOUNT, '--all', '--limit', '2'])]);
    expect(all).toEqual({ entries: expected, nextAfter: null });
    const [one, two, three] = expected;
    if (!one || !two || !three) return;
    expect(firstPage).toMatch(new RegExp(`│\\s*${one.entryId}\\s*│.*│\\s*${one.kind}\\s*│`));
    expect(firstPage).toMatch(new RegExp(`│\\s*${two.entryId}\\s*│`));
    expect(firstPage).not.toMatch(new RegExp(`│\\s*${three.entryId}\\s*│`));
    expect(firstPage).toContain(`more entries: credits ledger ${ACCOUNT} --after ${two.entryId} --limit 2`);
  });

  it('usage by user as a table and by feature as JSON', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const [byUser, byFeature] = await Promise.all([
      ok(['usage', ACCOUNT, '--from', from, '--to', to, '--by', 'user']),
      json<unknown>(['usage', ACCOUNT, '--from', from, '--to', to]),
    ]);
    expect(byFeature).toEqual(await stack.client.usage(ACCOUNT, { from, to, groupBy: 'feature' }));
    expect(byUser).toMatch(/alice\s*│\s*15\s*│\s*0\s*│\s*3\s*│\s*1\s*│/);
    expect(byUser).toMatch(/bob\s*│\s*2\s*│\s*0\s*│\s*2\s*│\s*1\s*│/);
    expect(byUser).toMatch(/total\s*│\s*17\s*│\s*0\s*│\s*5\s*│\s*2\s*│/);
  });

  it('job --watch follows a job from draft to completed, one line per change when not on a terminal', async () => {
    await stack.client.createJob(ACCOUNT, { jobId: 'cli-watch', feature: 'lead.email-finder', userId: 'alice', idempotencyKey: 'cli-watch', records: records('cli-watch', 300) });
    let started: Promise<unknown> | undefined;
    const run = await credits(['job', 'cli-watch', '--watch'], {
      onStdout: (soFar) => {
        // Start the job once the CLI is watching it, so it sees it run.
        if (started === undefined && soFar.includes('cli-watch draft')) started = stack.client.startJob('cli-watch');
      },
    });
    await started;
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    const progress = lines.filter((line) => line.startsWith('cli-watch '));
    expect(progress[0]).toMatch(/^cli-watch draft 0\/300 \(0%\)/);
    expect(progress.at(-1)).toMatch(/^cli-watch completed 300\/300 \(100%\)/);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(new Set(progress).size).toBe(progress.length);
    const job = await stack.client.getJob('cli-watch');
    expect(job.status).toBe('completed');
    expect(lines.at(-1)).toBe(
      `job cli-watch completed: 300 of 300 records processed, ${job.progress.verified} verified; ${job.credits.charged.toLocaleString('en-US')} credits charged, ${job.credits.released.toLocaleString('en-US')} released`,
    );
  });

  it('jobs lists them; job shows one', async () => {
    const [list, completed, one] = await Promise.all([
      ok(['jobs', ACCOUNT]),
      json<{ jobs: JobView[] }>(['jobs', ACCOUNT, '--status', 'completed']),
      ok(['job', 'cli-watch']),
    ]);
    const job = await stack.client.getJob('cli-watch');
    expect(completed).toEqual(await stack.client.listJobs(ACCOUNT, { status: 'completed' }));
    expect(completed.jobs.map((view) => view.jobId)).toEqual(['cli-watch']);
    expect(list).toMatch(new RegExp(`cli-watch\\s*│\\s*lead.email-finder\\s*│\\s*alice\\s*│\\s*completed\\s*│\\s*300/300\\s*│\\s*${job.progress.verified}\\s*│`));
    expect(one).toMatch(/status\s*│\s*completed/);
    expect(one).toMatch(/progress\s*│\s*300\/300 records \(100%\)/);
    expect(one).toMatch(new RegExp(`charged\\s*│\\s*${job.credits.charged.toLocaleString('en-US')}\\s`));
  });

  it('a job paused for lack of credits: shown with how to resume, resumed after a top-up, then cancelled', async () => {
    await activeAccount(POOR, 1, [{ userId: 'alice', role: 'admin' }]);
    await stack.client.charge(POOR, { feature: 'lead.email-finder', quantity: 200, userId: 'alice', idempotencyKey: 'spend-all' });
    await stack.client.createJob(POOR, { jobId: 'cli-paused', feature: 'lead.email-finder', userId: 'alice', idempotencyKey: 'cli-paused', records: records('cli-paused', 40), start: true });
    await eventually(() => stack.client.getJob('cli-paused'), (job) => job.status === 'paused', 'the job paused');

    const [shown, broke] = await Promise.all([ok(['job', 'cli-paused']), credits(['resume', 'cli-paused'])]);
    expect(shown).toMatch(/status\s*│\s*paused/);
    expect(shown).toMatch(/pause reason\s*│\s*OUT_OF_CREDITS/);
    expect(shown).toContain('then run: credits resume cli-paused');
    expect(broke.code).toBe(1);
    expect(broke.stderr).toMatch(/^credits: INSUFFICIENT_CREDITS: /);

    // 20 credits pay for 4 of the ~24 chargeable records: it runs, then pauses again.
    await ok(['top-up', POOR, '20', '--user', 'alice', '--key', 'poor-top-up']);
    const resumed = await ok(['resume', 'cli-paused']);
    expect(resumed).toMatch(/^resume: job cli-paused is now (running|paused)/);
    await eventually(() => stack.client.getJob('cli-paused'), (job) => job.status === 'paused' && job.credits.charged === 20, 'the job paused again');

    const watched = await ok(['job', 'cli-paused', '--watch']);
    expect(watched).toMatch(/^cli-paused paused \(OUT_OF_CREDITS\) \d+\/40/);
    expect(watched).toContain('job cli-paused paused (OUT_OF_CREDITS)');
    expect(watched).toContain('then run: credits resume cli-paused');

    const cancelled = await json<JobView>(['cancel', 'cli-paused']);
    expect(cancelled).toEqual(await stack.client.getJob('cli-paused'));
    expect(cancelled).toMatchObject({ status: 'cancelled', credits: { charged: 20, held: 0 } });
    const again = await credits(['cancel', 'cli-paused']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^credits: JOB_STATE_CONFLICT: /);
  });

  it('audit still reads the database directly', async () => {
    const run = await credits(['audit'], { env: { DATABASE_URL: stack.databaseUrl } });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('audit clean');
  });

  it("an operator's money tools: refund part of a charge, add and remove credits, set contract terms", async () => {
    await activeAccount('cli-ops', 1, [{ userId: 'alice', role: 'admin' }]);
    const charge = await stack.client.charge('cli-ops', { feature: 'ai.variable', quantity: 10, userId: 'alice', idempotencyKey: 'ops-charge' });
    const attribution = ['--operator', 'jane@support', '--reason', 'ticket 4711'];
    const refunded = await ok(['refund', 'cli-ops', charge.chargeId, '--credits', '4', ...attribution, '--key', 'ops-refund']);
    expect(refunded).toContain(`of charge ${charge.chargeId} on cli-ops: 4 credits`);
    expect(refunded).toMatch(/put back: 4\b/);
    expect(refunded).toMatch(/10 charged, 4 refunded, 6 still refundable/);
    const added = await json<{ grant: { grantId: string; source: string } }>(['add-credits', 'cli-ops', '25', '--source', 'promo', ...attribution, '--key', 'ops-add']);
    expect(added.grant.source).toBe('promo');
    expect(await ok(['remove-credits', 'cli-ops', added.grant.grantId, '5', ...attribution])).toMatch(/removed 5 credits from grant \d+ of cli-ops \(20 left on it\)/);
    expect((await stack.client.getAccount('cli-ops')).balance.available).toBe(1000 - 10 + 4 + 25 - 5);

    expect(await ok(['contract', 'cli-ops', '--allowance', '1500', '--features', 'call.minute', ...attribution, '--key', 'ops-contract'])).toMatch(/next period's allowance: 1,?500 credits/);
    const shown = await ok(['contract', 'cli-ops']);
    expect(shown).toMatch(/^cli-ops: the plan alone/);
    expect(shown).toMatch(/scheduled: 1,?500 credits per period, extra features call\.minute .*by jane@support: ticket 4711/);
    const refusal = await credits(['contract', 'cli-ops', '--operator', 'jane']);
    expect(refusal.code).not.toBe(0);
    expect(refusal.stderr).toContain('--operator and --reason');
  });
});
