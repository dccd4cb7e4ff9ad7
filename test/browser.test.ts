/**
 * The operator console (/console) and the balance widget (<credits-balance>) in a real browser:
 * Debian's chromium driven by playwright-core, against the real stack (PostgreSQL, the Temporal dev
 * server, a worker, the API). What the pages show is compared with what the API answers, instants
 * with the server's own `zonedIso`. Each page is written to test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSessionToken } from '../src/auth/session-tokens.js';
import { loadCatalog } from '../src/catalog/catalog.js';
import { createCreditsClient, type LedgerParams } from '../src/client/client.js';
import { zonedIso } from '../src/periods/periods.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { API_TOKEN, useApiStack } from './support/api-stack.js';
import { attribute, launchChromium, screenshot, SCREENSHOT_DIR, startHostSite, watchPage, type PageWatch } from './support/browser.js';
import { records } from './support/jobs.js';
import { eventually } from './support/temporal.js';

// The product's site, on its own port: another origin than the API's, allowed to embed the widget.
const host = await startHostSite();
const SESSION_SECRET = 'browser-test-session-secret-0123456789abcdef';
/** The product's backend mints session tokens with its service token, as it would in production. */
const SERVICE_TOKEN = 'service-token-of-the-product-0123';
const stackOf = useApiStack({
  tokens: [{ scope: 'service', token: SERVICE_TOKEN }],
  provider: createSimulatedProvider(loadCatalog(), { verifiedRate: 0.6, latencyMs: 2 }),
  batchConcurrency: 4,
  widgetOrigins: [host.origin],
  sessionSecret: SESSION_SECRET,
});

/**
 * Waits for what a page shows: long enough for a loaded machine (the whole suite runs beside this
 * file, and the first page of the console waits for its bundle), where expect.poll's 1 s is not.
 */
const poll = <T>(probe: () => Promise<T>, timeout = 15_000) => expect.poll(probe, { timeout });

const ZONE = 'Europe/Paris';
const TEAM = 'paris-team';
const credits = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const day = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: ZONE });

let browser: Browser | undefined;
/** The first instant after the first two charges: the ledger's time filter splits there. */
let middle: Date;
/** After the period's end, so that the renewal does not list it: the widget shows it after what the renewal expires. */
let promoExpiry: string;

beforeAll(async () => {
  browser = await launchChromium();
  const { client } = stackOf();
  const opened = await client.createAccount({
    accountId: TEAM,
    planId: 'sales-email-pro',
    seats: 2,
    timeZone: ZONE,
    trial: true,
    users: [{ userId: 'ann', role: 'admin' }, { userId: 'bob', role: 'member' }],
  });
  if (!opened.period) throw new Error('the account opened without a period');
  promoExpiry = new Date(Date.parse(opened.period.end) + 20 * 86_400_000).toISOString();
  await client.charge(TEAM, { feature: 'ai.variable', quantity: 120, userId: 'ann', idempotencyKey: 'variables-1' });
  await client.charge(TEAM, { feature: 'lead.email-finder', quantity: 30, userId: 'bob', idempotencyKey: 'leads-1' });
  middle = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000);
  await new Promise((resolve) => setTimeout(resolve, middle.getTime() - Date.now() + 50));
  await client.topUp(TEAM, { credits: 200, userId: 'ann', idempotencyKey: 'top-up-1' });
  await client.adjust(TEAM, { action: 'add', source: 'promo', credits: 25, expiresAt: promoExpiry, operator: 'jane@support', reason: 'spring promotion', idempotencyKey: 'promo-1' });
  await client.charge(TEAM, { feature: 'lead.phone-finder', quantity: 3, userId: 'bob', idempotencyKey: 'phones-1' });
  await client.charge(TEAM, { feature: 'ai.variable', quantity: 15, userId: 'bob', idempotencyKey: 'variables-2' });
});

afterAll(async () => {
  await browser?.close();
  await host.close();
});

async function newPage(): Promise<{ page: Page; watch: PageWatch }> {
  if (!browser) throw new Error('the browser did not start');
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'en-US', timezoneId: 'America/New_York' });
  const page = await context.newPage();
  return { page, watch: watchPage(page) };
}

/** The console at `hash`, after the operator typed the API token. The browser runs in New York: times must still be Paris's. */
async function openConsole(hash = ''): Promise<{ page: Page; watch: PageWatch }> {
  const opened = await newPage();
  await opened.page.goto(`${stackOf().api.url}/console${hash}`);
  await opened.page.getByLabel('API token').fill(API_TOKEN);
  await opened.page.getByRole('button', { name: 'Use token' }).click();
  return opened;
}

/** Only the API's own origin, and nothing logged as an error (a CSP violation would be). */
function expectCleanConsole(watch: PageWatch): void {
  expect(watch.errors).toEqual([]);
  expect([...watch.origins]).toEqual([new URL(stackOf().api.url).origin]);
}

const ledgerIds = (page: Page) => page.locator('table.ledger tbody tr td:first-child').allTextContents();
async function apiLedgerIds(filters: LedgerParams): Promise<string[]> {
  return (await stackOf().client.ledger(TEAM, { limit: 100, ...filters })).entries.map((entry) => String(entry.entryId));
}

describe('serving', () => {
  it('serves the console with a CSP that keeps it to its origin, and the widget to any page, with CORS only for the widget and its origins', async () => {
    const base = stackOf().api.url;
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    const html = await page.text();
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);

    const script = await fetch(`${base}/widget/credits-balance.js`, { headers: { origin: 'https://anywhere.example' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
    const etag = script.headers.get('etag') ?? '';
    expect((await script.text()).length).toBeGreaterThan(1_000);
    expect((await fetch(`${base}/widget/credits-balance.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const preflight = (origin: string, path: string) =>
      fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const allowed = await preflight(host.origin, `/v1/accounts/${TEAM}/usage`);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(host.origin);
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toBe('authorization');
    expect((await preflight('https://elsewhere.example', `/v1/accounts/${TEAM}`)).headers.get('access-control-allow-origin')).toBeNull();
    // Routes the widget does not use answer no cross-origin request, whatever the origin.
    const ledger = await fetch(`${base}/v1/accounts/${TEAM}/ledger`, { headers: { origin: host.origin, authorization: `Bearer ${API_TOKEN}` } });
    expect(ledger.status).toBe(200);
    expect(ledger.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the console', () => {
  it("shows an account: balance by source with days left, the renewal, and usage by feature, user and day, in the account's time zone", async () => {
    const { page, watch } = await openConsole();
    // The finder suggests the accounts whose id starts with what is typed.
    await page.getByLabel('Account').fill(TEAM.slice(0, 5));
    const suggestions = async () => Promise.all((await page.locator('#account-suggestions option').all()).map((option) => option.getAttribute('value')));
    await poll(suggestions).toEqual([TEAM]);
    await page.getByLabel('Account').fill(TEAM);
    await page.getByRole('button', { name: 'Open' }).click();
    const account = await stackOf().client.getAccount(TEAM);
    if (!account.period) throw new Error('the account has no period');

    await poll(() => page.locator('[data-source="available"]').textContent()).toBe(credits.format(account.balance.available));
    for (const [source, amount] of Object.entries(account.balance.bySource)) {
      expect(await page.locator(`[data-source="${source}"]`).textContent(), source).toBe(credits.format(amount));
    }
    expect(await page.locator('.days-left').textContent()).toBe(String(account.period.daysLeft));
    const summary = await page.locator('.summary').innerText();
    expect(summary).toContain(`${zonedIso(account.period.start, ZONE)} → ${zonedIso(account.period.end, ZONE)}`);
    expect(summary).toContain(`expires in ${Math.ceil((Date.parse(promoExpiry) - Date.now()) / 86_400_000)} d, ${zonedIso(promoExpiry, ZONE)}`);
    expect(summary).toContain('never expires');
    expect(await page.locator('.renewal').innerText()).toContain(`Renews ${zonedIso(account.renewal?.at ?? '', ZONE)}`);

    const chart = (caption: string) => page.locator('figure.chart', { hasText: caption });
    await poll(() => chart('Credits by feature').locator('text.label').allTextContents()).toEqual(['ai.variable', 'lead.email-finder', 'lead.phone-finder']);
    expect(await chart('Credits by feature').locator('text.value').allTextContents()).toEqual(['135', '150', '60']);
    expect(await chart('Credits by user').locator('text.label').allTextContents()).toEqual(['ann', 'bob']);
    expect(await chart('Credits by user').locator('text.value').allTextContents()).toEqual(['120', '225']);
    const today = zonedIso(new Date().toISOString(), ZONE).slice(0, 10);
    const days = await chart('Credits by day').locator('.column title').allTextContents();
    expect(days.filter((title) => !title.endsWith('0 credits, no charges'))).toEqual([`${today}: 345 credits, 4 charges, 168 units`]);
    expect(await page.locator('.usage-total').textContent()).toContain('345 credits charged');
    await screenshot(page, 'console-account');
    expectCleanConsole(watch);
  });

  it('filters the ledger by kind, user, feature, grant and time, as the API does, and keeps the filters in the URL', async () => {
    const { page, watch } = await openConsole(`#/accounts/${TEAM}/ledger`);
    const everything = await apiLedgerIds({});
    await poll(() => ledgerIds(page)).toEqual(everything);
    const first = (await stackOf().client.ledger(TEAM, { limit: 1 })).entries[0];
    expect(await page.locator('table.ledger tbody tr:first-child td.time').textContent()).toBe(zonedIso(first?.occurredAt ?? '', ZONE));

    const filter = async (fields: Record<string, string>) => {
      for (const [label, value] of Object.entries(fields)) {
        // A select's name holds its options' text too: "Kind any grant charge …".
        const field = page.getByLabel(label, { exact: label !== 'Kind' });
        if (label === 'Kind') await field.selectOption(value);
        else await field.fill(value);
      }
      await page.getByRole('button', { name: 'Filter' }).click();
    };
    // Once the unfiltered page is back, the form shows it too: a value typed before then would be reset.
    const clear = async () => {
      await page.getByRole('link', { name: 'Clear' }).click();
      await poll(() => ledgerIds(page)).toEqual(everything);
    };
    // What the operator is typing survives the account's refresh (every 5 s, or the Refresh button), which renders the view again.
    await page.getByLabel('User', { exact: true }).fill('half-typed');
    const refreshed = page.waitForResponse((response) => new URL(response.url()).pathname === `/v1/accounts/${TEAM}`);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await refreshed;
    // The answer is rendered by the next frame.
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    expect(await page.getByLabel('User', { exact: true }).inputValue()).toBe('half-typed');
    await page.getByLabel('User', { exact: true }).fill('');

    await filter({ Kind: 'charge' });
    const charges = await apiLedgerIds({ kind: 'charge' });
    expect(charges.length).toBeGreaterThanOrEqual(4);
    await poll(() => ledgerIds(page)).toEqual(charges);
    expect(await page.locator('table.ledger tbody td:nth-child(3)').allTextContents()).toEqual(charges.map(() => 'charge'));
    expect(page.url()).toContain('kind=charge');

    await filter({ User: 'bob' });
    await poll(() => ledgerIds(page)).toEqual(await apiLedgerIds({ kind: 'charge', userId: 'bob' }));
    expect(page.url()).toContain('userId=bob');
    await screenshot(page, 'console-ledger');

    await clear();
    await filter({ Feature: 'ai.variable' });
    await poll(() => ledgerIds(page)).toEqual(await apiLedgerIds({ feature: 'ai.variable' }));

    const promo = (await stackOf().client.grants(TEAM, { source: 'promo' })).grants[0];
    await clear();
    await filter({ Grant: promo?.id ?? '' });
    const promoEntries = await apiLedgerIds({ grantId: promo?.id ?? '' });
    expect(promoEntries).toHaveLength(1);
    await poll(() => ledgerIds(page)).toEqual(promoEntries);

    // The operator types Paris wall-clock time, to the second; the API is asked for that instant.
    await clear();
    await filter({ From: zonedIso(middle.toISOString(), ZONE).slice(0, 19) });
    const after = await apiLedgerIds({ from: middle.toISOString() });
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThan(everything.length);
    await poll(() => ledgerIds(page)).toEqual(after);
    expect(decodeURIComponent(page.url())).toContain(`from=${middle.toISOString()}`);

    // Reloaded from its URL, the filtered view is the same.
    await page.reload();
    await poll(() => ledgerIds(page)).toEqual(after);
    expectCleanConsole(watch);
  });

  it('lists every grant with its status, and filters them', async () => {
    const { page, watch } = await openConsole(`#/accounts/${TEAM}/grants`);
    const grants = (await stackOf().client.grants(TEAM)).grants;
    await poll(() => page.locator('table.grants tbody tr td:first-child').allTextContents()).toEqual(grants.map((grant) => grant.id));
    await screenshot(page, 'console-grants');
    await page.getByLabel('Source').selectOption('promo');
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.locator('table.grants tbody tr').count()).toBe(1);
    expect(await page.locator('table.grants tbody tr td:nth-child(9)').textContent()).toBe(zonedIso(promoExpiry, ZONE));
    expectCleanConsole(watch);
  });

  it('follows a job paused for lack of credits, refuses its resume until a top-up, and resumes it on request', async () => {
    const { client } = stackOf();
    await client.createAccount({ accountId: 'short', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }] });
    await client.charge('short', { feature: 'ai.variable', quantity: 900, userId: 'admin', idempotencyKey: 'spend' });
    // 100 credits left: 20 verified records at 5 credits, of 60.
    const created = await client.createJob('short', { jobId: 'import-1', feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'import-1', records: records('lead', 60), start: true });
    const paused = await eventually(() => client.getJob(created.jobId), (job) => job.status === 'paused', 'the job to pause', 60_000);

    const { page, watch } = await openConsole('#/accounts/short/jobs');
    const job = page.locator('[data-job="import-1"]');
    await poll(() => job.locator('.badge').textContent()).toBe('paused');
    expect(await job.locator('.reason').textContent()).toBe('paused: OUT_OF_CREDITS');
    expect(await job.locator('.needed').textContent()).toBe(credits.format(paused.credits.needed));
    expect(await job.locator('.available').textContent()).toBe(credits.format(paused.credits.accountAvailable));
    expect([await job.locator('progress').getAttribute('value'), await job.locator('progress').getAttribute('max')]).toEqual([String(paused.progress.processed), '60']);

    await page.getByRole('button', { name: 'Resume import-1' }).click();
    await poll(() => job.locator('[role="alert"]').textContent()).toContain('INSUFFICIENT_CREDITS');
    expect(await job.locator('.badge').textContent()).toBe('paused');
    await screenshot(page, 'console-jobs-paused');

    // The product tops the account up; the console sees the credits, and the job stays paused until resumed.
    await client.topUp('short', { credits: 500, userId: 'admin', idempotencyKey: 'rescue' });
    const available = (await client.getAccount('short')).balance.available;
    await poll(() => job.locator('.available').textContent()).toBe(credits.format(available));
    expect(await job.locator('.badge').textContent()).toBe('paused');
    expect((await client.getJob('import-1')).status).toBe('paused');

    await page.getByRole('button', { name: 'Resume import-1' }).click();
    await poll(() => job.locator('.badge').textContent(), 60_000).toBe('completed');
    expect(await job.locator('progress').getAttribute('value')).toBe('60');
    expect(await job.locator('[role="alert"]').count()).toBe(0);
    expect((await client.getJob('import-1')).progress.processed).toBe(60);
    // The job's end released its hold: the summary reads the account again.
    const settled = (await client.getAccount('short')).balance;
    await poll(() => page.locator('[data-source="available"]').textContent()).toBe(credits.format(settled.available));
    expect(settled.held).toBe(0);
    await screenshot(page, 'console-jobs-completed');

    await page.getByRole('link', { name: 'Events' }).click();
    await poll(() => page.locator('table.events tbody td:nth-child(3)').allTextContents()).toEqual(
      expect.arrayContaining(['job.completed', 'job.resumed', 'job.paused', 'job.started']),
    );
    await screenshot(page, 'console-events');
    // The refused resume is the one load Chromium reports: a 402 the console showed.
    expect(watch.refusedLoads).toEqual([expect.stringContaining('402')]);
    expectCleanConsole(watch);
  });

  it('cancels a paused job from the console, which releases its hold', async () => {
    const { client } = stackOf();
    await client.createAccount({ accountId: 'broke', planId: 'sales-email-pro', users: [{ userId: 'admin', role: 'admin' }] });
    await client.charge('broke', { feature: 'ai.variable', quantity: 998, userId: 'admin', idempotencyKey: 'spend' });
    await client.createJob('broke', { jobId: 'import-2', feature: 'lead.email-finder', userId: 'admin', idempotencyKey: 'import-2', records: records('b', 10), start: true });
    await eventually(() => client.getJob('import-2'), (job) => job.status === 'paused', 'the job to pause', 60_000);

    const { page, watch } = await openConsole('#/accounts/broke/jobs');
    const job = page.locator('[data-job="import-2"]');
    await poll(() => job.locator('.badge').textContent()).toBe('paused');
    await page.getByRole('button', { name: 'Cancel import-2' }).click();
    await poll(() => job.locator('.badge').textContent()).toBe('cancelled');
    expect(await job.getByRole('button').count()).toBe(0);
    const cancelled = await client.getJob('import-2');
    expect(cancelled).toMatchObject({ status: 'cancelled', credits: { held: 0 } });
    await poll(() => page.locator('[data-source="available"]').textContent()).toBe('2');
    expectCleanConsole(watch);
  });

  it('asks for the token again when the API refuses it', async () => {
    const { page } = await newPage();
    await page.goto(`${stackOf().api.url}/console#/accounts/${TEAM}/usage`);
    await page.getByLabel('API token').fill('not-a-token-of-this-api');
    await page.getByRole('button', { name: 'Use token' }).click();
    await poll(() => page.getByRole('alert').textContent()).toContain('The API refused this token (401)');
    expect(await page.getByLabel('API token').isVisible()).toBe(true);
  });
});

/** The product's page: plain HTML, its own theme for the widget, the widget's script from the API. */
function hostPage(accountId: string, token: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Acme workspace</title>
    <style>
      body { font-family: Georgia, serif; background: #f8f9fa; margin: 32px; }
      credits-balance { --credits-accent: #0b7285; --credits-radius: 6px; --credits-font: Georgia, serif; }
    </style>
  </head>
  <body>
    <h1>Acme workspace</h1>
    <credits-balance account="${attribute(accountId)}" token="${attribute(token)}" locale="en-US"></credits-balance>
    <p id="log"></p>
    <script>
      document.addEventListener('credits-balance-unauthorized', (event) => { document.getElementById('log').textContent = event.detail.message; });
    </script>
    <script type="module" src="${stackOf().api.url}/widget/credits-balance.js"></script>
  </body>
</html>
`;
}

const mintSessionToken = async (): Promise<string> =>
  (await createCreditsClient({ baseUrl: stackOf().api.url, token: SERVICE_TOKEN }).createSessionToken(TEAM, { expiresInSeconds: 600 })).token;

async function openWidget(token: string, origin = host.origin): Promise<{ page: Page; watch: PageWatch }> {
  const path = `/app-${Math.random().toString(36).slice(2)}.html`;
  host.pages.set(path, hostPage(TEAM, token));
  const opened = await newPage();
  await opened.page.goto(`${origin}${path}`);
  return opened;
}

describe('the balance widget', () => {
  it("shows a product's user the account's credits, the refresh, what expires when and usage by feature, with a session token, themed by the page", async () => {
    const { page, watch } = await openWidget(await mintSessionToken());
    const widget = page.locator('credits-balance');
    const account = await stackOf().client.getAccount(TEAM);
    if (!account.period || !account.renewal) throw new Error('the account has no period');

    await poll(() => widget.locator('.available').textContent()).toBe(credits.format(account.balance.available));
    const days = account.period.daysLeft === 1 ? '1 day' : `${account.period.daysLeft} days`;
    const granted = account.renewal.grants.reduce((sum, grant) => sum + grant.credits, 0);
    expect((await widget.locator('.refresh').innerText()).replace(/\s+/g, ' ')).toBe(`Refreshes in ${days}, on ${day.format(new Date(account.renewal.at))}, with ${credits.format(granted)} credits.`);
    const expiring = (await widget.locator('.expiring li').allInnerTexts()).map((line) => line.replace(/\s+/g, ' '));
    const byRenewal = account.renewal.expires.filter((grant) => grant.credits > 0);
    expect(byRenewal.map((grant) => grant.source)).toContain('allowance');
    expect(expiring).toEqual([
      ...byRenewal.map((grant) => `${credits.format(grant.credits)} ${grant.source === 'allowance' ? 'plan' : grant.source} credits ${day.format(new Date(grant.expiresAt))}`),
      `25 promotional credits ${day.format(new Date(promoExpiry))}`,
      '200 credits never expire',
    ]);
    const usage = (await widget.locator('.usage li .line').allInnerTexts()).map((line) => line.replace(/\s+/g, ' '));
    expect(usage).toEqual(['Email finder and verifier 150', 'AI variable generation 135', 'Phone number finder 60']);
    // The page's --credits-accent reaches into the widget's shadow root.
    const accent: unknown = await page.evaluate("getComputedStyle(document.querySelector('credits-balance').shadowRoot.querySelector('.available')).color");
    expect(accent).toBe('rgb(11, 114, 133)');

    await widget.screenshot({ path: `${SCREENSHOT_DIR}widget.png` });
    await screenshot(page, 'widget-host-page');
    expect(watch.errors).toEqual([]);
    expect([...watch.origins].sort()).toEqual([host.origin, new URL(stackOf().api.url).origin].sort());
  });

  it('says clearly when the session token is refused (expired or altered), and tells the page', async () => {
    const expired = signSessionToken(SESSION_SECRET, { accountId: TEAM, userId: null, allowTopUp: false, expiresAt: new Date(Date.now() - 60_000) });
    const { page } = await openWidget(expired);
    const widget = page.locator('credits-balance');
    await poll(() => widget.locator('[role="alert"]').textContent()).toContain('Your session has expired or is not valid. Reload the page to see your credits.');
    expect(await page.locator('#log').textContent()).toMatch(/^the session token expired at .*: mint a new one$/);
    await widget.screenshot({ path: `${SCREENSHOT_DIR}widget-expired.png` });

    const valid = signSessionToken(SESSION_SECRET, { accountId: TEAM, userId: null, allowTopUp: false, expiresAt: new Date(Date.now() + 600_000) });
    const [payload = '', mac = ''] = valid.split('.');
    const altered = `${payload.slice(0, -2)}${payload.endsWith('A') ? 'B' : 'A'}${payload.slice(-1)}.${mac}`;
    const tampered = await openWidget(altered);
    await poll(() => tampered.page.locator('credits-balance [role="alert"]').textContent()).toContain('Your session has expired or is not valid.');
    expect(await tampered.page.locator('#log').textContent()).toContain('signature does not match');
  });

  it('is refused by the browser on a page whose origin the API does not allow', async () => {
    // The same site under another host name is another origin, not in CREDITS_WIDGET_ORIGINS.
    const { page } = await openWidget(await mintSessionToken(), host.origin.replace('127.0.0.1', 'localhost'));
    await poll(() => page.locator('credits-balance [role="alert"]').textContent()).toContain('Your credits cannot be shown right now.');
  });
});
