import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../src/catalog/catalog.js';
import type { AccountView, GrantPage, JobResultsPage, JobView, LedgerPage, TopUpView, UsageView } from '../src/client/client.js';
import { writeDevStackState } from '../src/devstack/state.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { API_TOKEN, startApiStack, type ApiStack } from './support/api-stack.js';
import { cliOutput, runCli, type CliOptions, type CliRun } from './support/cli.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

const ACCOUNT = 'cli-acme';
const POOR = 'cli-poor';
const PARIS = 'cli-paris';

let stack: ApiStack;

/** `credits <args>` against the test stack; see runCli for the options. */
const credits = (args: string[], options: Omit<CliOptions, 'api'> = {}): Promise<CliRun> => runCli(args, { api: { url: stack.api.url, token: API_TOKEN }, ...options });
const ok = (args: string[]): Promise<string> => cliOutput(args, { api: { url: stack.api.url, token: API_TOKEN } });

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
      json<GrantPage>(['grants', ACCOUNT]),
    ]);
    const account = await stack.client.getAccount(ACCOUNT);
    expect(asJson).toEqual(account);
    expect(grantsJson).toEqual(await stack.client.grants(ACCOUNT));
    expect(grantsJson.grants.map((grant) => grant.id)).toEqual(account.grants.map((grant) => grant.id));
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
    expect(grants).toMatch(new RegExp(`${grant.id}\\s*│\\s*allowance\\s*│\\s*active\\s*│\\s*2,000\\s*│\\s*1,983\\s*│\\s*0\\s*│\\s*0\\s*│`));
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

    // Said as a replay, people's output no longer reads as a purchase made now.
    expect(first).not.toContain('replayed');
    const replay = await ok(['top-up', ACCOUNT, '12.5', '--user', 'alice', '--key', key]);
    expect(replay).toMatch(new RegExp(`^replayed: idempotency key ${key} was used before, so nothing was added now\n`));
    expect(replay).toContain(`that top-up added 12.5 credits to ${ACCOUNT} (grant ${again.grantId}, expires never); available after it: 1,995.5 credits`);
    expect(replay).not.toMatch(/^added /m);
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
    expect(firstPage).toContain(`more: credits ledger ${ACCOUNT} --limit 2 --after ${two.entryId} (or --all)`);
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

  it("usage defaults to the account's current period, bound by bound", async () => {
    const { period } = await stack.client.getAccount(ACCOUNT);
    if (period === null) throw new Error(`${ACCOUNT} has no period`);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const [whole, fromOnly, table] = await Promise.all([json<UsageView>(['usage', ACCOUNT]), json<UsageView>(['usage', ACCOUNT, '--from', from]), ok(['usage', ACCOUNT, '--by', 'user'])]);
    expect([Date.parse(whole.from), Date.parse(whole.to)]).toEqual([Date.parse(period.start), Date.parse(period.end)]);
    expect(whole).toEqual(await stack.client.usage(ACCOUNT, { from: period.start, to: period.end, groupBy: 'feature' }));
    expect([Date.parse(fromOnly.from), Date.parse(fromOnly.to)]).toEqual([Date.parse(from), Date.parse(period.end)]);
    expect(table).toMatch(/total\s*│\s*17\s*│\s*0\s*│\s*5\s*│\s*2\s*│/);
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

  it("job --records lists each record's outcome and charge, a page at a time", async () => {
    const job = await stack.client.getJob('cli-watch');
    const [firstPage, lastPage, firstPageJson] = await Promise.all([
      ok(['job', 'cli-watch', '--records', '--limit', '4']),
      json<JobResultsPage>(['job', 'cli-watch', '--records', '--after', '296', '--limit', '10']),
      stack.client.jobResults('cli-watch', { limit: 4 }),
    ]);
    expect(firstPageJson.results.map((result) => result.seq)).toEqual([1, 2, 3, 4]);
    for (const result of firstPageJson.results) {
      expect(firstPage).toMatch(new RegExp(`│\\s*${result.seq}\\s*│\\s*${result.recordId}\\s*│\\s*${result.outcome}\\s*│\\s*${result.charged}\\s*│`));
    }
    expect(firstPage).not.toContain('cli-watch-5 ');
    expect(firstPage).toContain('more records: credits job cli-watch --records --after 4 --limit 4');
    expect(lastPage).toEqual(await stack.client.jobResults('cli-watch', { after: 296, limit: 10 }));
    expect(lastPage.results.map((result) => result.seq)).toEqual([297, 298, 299, 300]);
    expect(lastPage.nextAfter).toBeNull();

    let charged = 0;
    for (let after = 0; ; ) {
      const page = await json<JobResultsPage>(['job', 'cli-watch', '--records', '--after', String(after), '--limit', '1000']);
      charged += page.results.reduce((sum, result) => sum + result.charged, 0);
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(charged).toBe(job.credits.charged);

    const [pagingAlone, watchingRecords] = await Promise.all([credits(['job', 'cli-watch', '--limit', '4']), credits(['job', 'cli-watch', '--records', '--watch'])]);
    expect(pagingAlone).toMatchObject({ code: 2, stdout: '' });
    expect(pagingAlone.stderr).toContain('--after and --limit page through --records');
    expect(watchingRecords.code).toBe(2);
    expect(watchingRecords.stderr).toContain("cannot be used with option '--records'");
  });

  it("shows an account's instants in its time zone with the offset; --json keeps the API's UTC", async () => {
    await stack.client.createAccount({ accountId: PARIS, planId: 'sales-email-pro', timeZone: 'Europe/Paris', trial: true, users: [{ userId: 'alice', role: 'admin' }] });
    const winter = await ok(['top-up', PARIS, '30', '--user', 'alice', '--expires', '2027-01-15T12:00:00Z', '--key', 'paris-winter']);
    expect(winter).toContain('expires 2027-01-15T13:00:00+01:00)');
    const summer = await json<TopUpView>(['top-up', PARIS, '20', '--user', 'alice', '--expires', '2027-07-15T12:00:00Z', '--key', 'paris-summer']);
    expect(summer.expiresAt).toBe('2027-07-15T12:00:00.000Z');
    await stack.client.createJob(PARIS, { jobId: 'cli-paris-job', feature: 'lead.email-finder', userId: 'alice', idempotencyKey: 'cli-paris-job', records: records('paris', 2) });

    const [balance, grants, ledgerPage, job, account] = await Promise.all([
      ok(['balance', PARIS]),
      ok(['grants', PARIS]),
      ok(['ledger', PARIS]),
      ok(['job', 'cli-paris-job']),
      stack.client.getAccount(PARIS),
    ]);
    const localMidnight = /^\d{4}-\d\d-01T00:00:00\+0[12]:00$/;
    const period = /period\s*│\s*(\S+) → (\S+)\s/.exec(balance);
    expect(period?.slice(1).map((instant) => Date.parse(instant))).toEqual([Date.parse(account.period?.start ?? ''), Date.parse(account.period?.end ?? '')]);
    expect(period?.slice(1)).toEqual([expect.stringMatching(localMidnight), expect.stringMatching(localMidnight)]);
    // The renewal: when (in Paris), the next period's 1,000 credits, and this period's allowance and trial expiring.
    const grantOf = (source: string, status: string) => account.grants.find((grant) => grant.source === source && grant.status === status)?.id ?? 'missing';
    expect(balance).toMatch(new RegExp(`renews\\s*│\\s*${(period?.[2] ?? 'missing').replace('+', '\\+')}\\s`));
    expect(balance).toMatch(new RegExp(`granted then\\s*│\\s*1,000 allowance \\(grant ${grantOf('allowance', 'pending')}\\)`));
    expect(balance).toMatch(new RegExp(`expiring\\s*│\\s*1,000 allowance \\(grant ${grantOf('allowance', 'active')}\\)\\s*│\\s*\\n.*500 trial \\(grant ${grantOf('trial', 'active')}\\)`));
    expect(grants).toContain('2027-01-15T13:00:00+01:00');
    expect(grants).toContain('2027-07-15T14:00:00+02:00');
    // (The ledger's and the grants' idempotency keys may hold a UTC instant: keys are shown as they are.)
    for (const output of [balance, job]) expect(output).not.toMatch(/\d\dZ\b/);
    expect(ledgerPage).toMatch(/│\s*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+0[12]:00\s*│\s*grant\s*│/);
    expect(job).toMatch(/created\s*│\s*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+0[12]:00\s/);
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
    // Its 40 records at 5 credits each, nothing held, nothing left on the account.
    expect(shown).toMatch(/still needed\s*│\s*200 \(/);
    expect(shown).toMatch(/account available\s*│\s*0\s/);
    expect(shown).toContain('it needs 200 more credits for its pending records, 0 are available on cli-poor');
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
    expect(run.stdout).not.toContain('dev stack');
  });

  it("audit without DATABASE_URL finds the running dev stack's database, or says what it tried", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'credits-cli-dev-'));
    try {
      const audit = () => credits(['audit'], { env: { DATABASE_URL: undefined, CREDITS_DEV_DATA_DIR: dataDir } });
      const file = path.join(dataDir, 'dev-stack.json');

      const none = await audit();
      expect(none).toMatchObject({ code: 2, stdout: '' });
      expect(none.stderr).toBe(`credits: no ledger database: tried DATABASE_URL (not set) and the dev stack's ${file}: not there (no dev stack is running on ${dataDir}). Set DATABASE_URL, or start the dev stack (npm run dev with the same CREDITS_DEV_DATA_DIR).\n`);

      // What the dev stack writes once it is up; this test's process stands for the stack's.
      writeDevStackState(dataDir, { pid: process.pid, databaseUrl: stack.databaseUrl });
      const found = await audit();
      expect(found).toMatchObject({ code: 0, stderr: '' });
      expect(found.stdout).toMatch(new RegExp(`^auditing the dev stack's database \\(from ${file}\\)\nchecked \\d+ accounts`));
      expect(found.stdout).toContain('audit clean');

      // A stack killed with SIGKILL leaves its file behind: its process is gone.
      const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      const pid = gone.pid;
      await new Promise((resolve) => gone.once('exit', resolve));
      if (pid === undefined) throw new Error('no pid');
      writeDevStackState(dataDir, { pid, databaseUrl: stack.databaseUrl });
      const stale = await audit();
      expect(stale).toMatchObject({ code: 2, stdout: '' });
      expect(stale.stderr).toContain(`${file}: left by a dev stack (pid ${pid}) that is no longer running`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is the package bin: `npx credits` as the README gives it, with nothing of npm in its output', async () => {
    const npx = ['npx', 'credits'] as const;
    const [help, balance, direct] = await Promise.all([credits(['--help'], { command: npx }), credits(['balance', ACCOUNT], { command: npx }), ok(['balance', ACCOUNT])]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: credits \[options\] \[command\]\n/);
    expect(balance).toMatchObject({ code: 0, stderr: '', stdout: direct });
    const wrong = await credits(['top-up', ACCOUNT, 'lots', '--user', 'alice'], { command: npx });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).not.toMatch(/npm (error|ERR)/);
  });

  it("an operator's money tools: refund part of a charge, add and remove credits, set contract terms", async () => {
    await activeAccount('cli-ops', 1, [{ userId: 'alice', role: 'admin' }]);
    const charge = await stack.client.charge('cli-ops', { feature: 'ai.variable', quantity: 10, userId: 'alice', idempotencyKey: 'ops-charge' });
    const attribution = ['--operator', 'jane@support', '--reason', 'ticket 4711'];
    const refunded = await ok(['refund', 'cli-ops', charge.chargeId, '--credits', '4', ...attribution, '--key', 'ops-refund']);
    expect(refunded).toContain(`of charge ${charge.chargeId} on cli-ops: 4 credits`);
    expect(refunded).toMatch(/put back: 4\b/);
    expect(refunded).toMatch(/10 charged, 4 refunded, 6 still refundable/);
    expect(refunded).not.toContain('replayed');
    // The same key again: nothing is refunded twice, and the CLI says it was a replay.
    const again = await ok(['refund', 'cli-ops', charge.chargeId, '--credits', '4', ...attribution, '--key', 'ops-refund']);
    expect(again).toMatch(/^replayed: idempotency key ops-refund was used before, so nothing changed now; its first answer:\n/);
    expect(again).toMatch(/10 charged, 4 refunded, 6 still refundable/);
    const added = await json<{ grant: { grantId: string; source: string } }>(['add-credits', 'cli-ops', '25', '--source', 'promo', ...attribution, '--key', 'ops-add']);
    expect(added.grant.source).toBe('promo');
    expect(await ok(['remove-credits', 'cli-ops', added.grant.grantId, '5', ...attribution])).toMatch(/removed 5 credits from grant \d+ of cli-ops \(20 left on it\)/);
    expect((await stack.client.getAccount('cli-ops')).balance.available).toBe(1000 - 10 + 4 + 25 - 5);

    expect(await ok(['contract', 'cli-ops', '--allowance', '1500', '--features', 'call.minute', ...attribution, '--key', 'ops-contract'])).toMatch(/next period's allowance: 1,?500 credits/);
    expect(await ok(['contract', 'cli-ops', '--allowance', '1500', '--features', 'call.minute', ...attribution, '--key', 'ops-contract'])).toMatch(/^replayed: idempotency key ops-contract was used before/);
    expect(await ok(['add-credits', 'cli-ops', '25', '--source', 'promo', ...attribution, '--key', 'ops-add'])).toMatch(/^replayed: idempotency key ops-add was used before/);
    expect((await stack.client.getAccount('cli-ops')).balance.available).toBe(1000 - 10 + 4 + 25 - 5);
    const shown = await ok(['contract', 'cli-ops']);
    expect(shown).toMatch(/^cli-ops: the plan alone/);
    expect(shown).toMatch(/scheduled: 1,?500 credits per period, extra features call\.minute .*by jane@support: ticket 4711/);
    const refusal = await credits(['contract', 'cli-ops', '--operator', 'jane']);
    expect(refusal.code).not.toBe(0);
    expect(refusal.stderr).toContain('--operator and --reason');
  });
});
