import { css, html, LitElement, nothing, svg, type PropertyValues, type TemplateResult } from 'lit';
// Types only: the widget is embedded in the product's pages, so it carries no schema library and
// reads answers as the contract types them (the typed client and zod would make it twenty times larger).
import type { AccountView, CatalogView, UsageView } from '../../client/client.js';
import { formatCredits } from '../format.js';

/**
 * <credits-balance account="acme" token="csess_…"> shows an account's balance to its users on the
 * product's own pages: credits available, days until the refresh, what expires when, and this
 * period's usage by feature. It reads the API with an account session token (POST
 * /v1/accounts/{accountId}/session-tokens, minted by the product's backend), from the origin the
 * script was loaded from unless `api` says otherwise. Its look follows the page through CSS custom
 * properties (--credits-accent, …; README, "The balance widget"); its text is in English, its numbers
 * and dates in `locale` (the browser's by default) and the account's time zone.
 */

/** Where the API is when `api` is not given: the origin that served this script. */
const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

interface Loaded {
  account: AccountView;
  usage: UsageView;
  featureNames: ReadonlyMap<string, string>;
}

/** Why nothing can be shown, for the account's user; the API's own message goes to the event and the console. */
type Problem = { kind: 'refused'; status: number; code: string; message: string } | { kind: 'unavailable'; message: string } | { kind: 'misconfigured'; message: string };

class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the user reads for a refusal: a token refused (expired, altered) is a session to renew, not an error of theirs. */
function refusalText(problem: Extract<Problem, { kind: 'refused' }>): string {
  if (problem.status === 401) return 'Your session has expired or is not valid. Reload the page to see your credits.';
  if (problem.status === 403) return 'This session cannot show the credits of this account.';
  if (problem.status === 404) return 'This account was not found.';
  return `Your credits cannot be shown right now (${problem.code}).`;
}

interface Expiry {
  credits: number;
  source: string;
  at: string;
}

/**
 * What expires when: the renewal's list (what is left of the period's allowance, a trial, anything
 * else expiring by the period's end), then every later expiry of a grant in force, soonest first.
 */
function expiries(account: AccountView): Expiry[] {
  const byRenewal = account.renewal?.expires ?? [];
  const listed = new Set(byRenewal.map((grant) => grant.grantId));
  const later = account.grants
    .filter((grant) => !listed.has(grant.id) && grant.status === 'active' && grant.available > 0 && grant.expiresAt !== null)
    .map((grant) => ({ credits: grant.available, source: grant.source, at: grant.expiresAt ?? '' }));
  return [...byRenewal.filter((grant) => grant.credits > 0).map((grant) => ({ credits: grant.credits, source: grant.source, at: grant.expiresAt })), ...later].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at),
  );
}

const SOURCE_WORDS: Record<string, string> = { allowance: 'plan', trial: 'trial', purchase: 'purchased', promo: 'promotional', adjustment: 'added' };

export class CreditsBalance extends LitElement {
  static override properties = {
    api: {},
    account: {},
    token: {},
    locale: {},
    loaded: { state: true },
    problem: { state: true },
  };
  declare api: string | null;
  declare account: string | null;
  declare token: string | null;
  declare locale: string | null;
  declare loaded: Loaded | null;
  declare problem: Problem | null;
  #loads = 0;

  static override styles = css`
    :host {
      display: block;
      box-sizing: border-box;
      max-width: var(--credits-max-width, 420px);
      padding: var(--credits-padding, 16px 20px);
      font-family: var(--credits-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
      font-size: var(--credits-font-size, 14px);
      line-height: 1.45;
      color: var(--credits-text, #1f2933);
      background: var(--credits-background, #ffffff);
      border: 1px solid var(--credits-border, #d9dee3);
      border-radius: var(--credits-radius, 12px);
    }
    h2 {
      margin: 0;
      font-size: 0.85em;
      font-weight: 600;
      text-transform: uppercase;
      letter-spacing: 0.04em;
      color: var(--credits-muted, #66727f);
    }
    .available {
      margin: 2px 0 0;
      font-size: 2.3em;
      font-weight: 700;
      font-variant-numeric: tabular-nums;
      color: var(--credits-accent, #3b5bdb);
    }
    .muted {
      color: var(--credits-muted, #66727f);
    }
    .refresh {
      margin: 4px 0 0;
    }
    section {
      margin: 14px 0 0;
      padding: 12px 0 0;
      border-top: 1px solid var(--credits-border, #d9dee3);
    }
    ul {
      list-style: none;
      margin: 6px 0 0;
      padding: 0;
    }
    li {
      display: flex;
      justify-content: space-between;
      gap: 12px;
      padding: 2px 0;
      font-variant-numeric: tabular-nums;
    }
    svg {
      display: block;
      margin: 6px 0 0;
    }
    rect.track {
      fill: var(--credits-track, #edf0f3);
    }
    rect.bar {
      fill: var(--credits-accent, #3b5bdb);
    }
    .usage li {
      display: block;
    }
    .usage .line {
      display: flex;
      justify-content: space-between;
      gap: 12px;
    }
    .problem {
      margin: 0;
      color: var(--credits-danger, #c92a2a);
    }
  `;

  constructor() {
    super();
    this.api = null;
    this.account = null;
    this.token = null;
    this.locale = null;
    this.loaded = null;
    this.problem = null;
  }

  /** Reads the account again: call it after the page knows the balance changed (a purchase, a charge). */
  refresh(): Promise<void> {
    return this.load();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The first update loads too: without attributes, it says what is missing rather than load forever.
    if (!this.hasUpdated || changed.has('api') || changed.has('account') || changed.has('token')) void this.load();
  }

  private async get<T>(path: string): Promise<T> {
    const base = this.api ?? SCRIPT_ORIGIN;
    let response: Response;
    try {
      // Appended, not resolved: an API behind a path prefix (https://example.com/credits) keeps it.
      response = await fetch(`${base.replace(/\/+$/, '')}${path}`, { headers: { authorization: `Bearer ${this.token ?? ''}`, accept: 'application/json' } });
    } catch (error) {
      // A network failure, or an origin not in the API's CREDITS_WIDGET_ORIGINS (the browser gives both the same error).
      throw new Error(`the credits API at ${base} could not be reached: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiRefusal(response.status, error?.code ?? `HTTP ${response.status}`, error?.message ?? response.statusText);
    }
    return body as T;
  }

  private async load(): Promise<void> {
    const load = ++this.#loads;
    const { account: accountId, token } = this;
    if (!accountId || !token) {
      this.loaded = null;
      this.problem = { kind: 'misconfigured', message: 'credits-balance needs the attributes account and token (an account session token)' };
      console.error(`<credits-balance>: ${this.problem.message}`);
      return;
    }
    const path = `/v1/accounts/${encodeURIComponent(accountId)}`;
    try {
      const [account, catalog] = await Promise.all([this.get<AccountView>(path), this.get<CatalogView>('/v1/catalog')]);
      const now = new Date().toISOString();
      const from = account.period?.start ?? now;
      const to = account.period?.end ?? now;
      const usage = from < to ? await this.get<UsageView>(`${path}/usage?${new URLSearchParams({ from, to, groupBy: 'feature' }).toString()}`) : { groupBy: 'feature' as const, from, to, rows: [] };
      if (load !== this.#loads) return;
      this.loaded = { account, usage, featureNames: new Map(catalog.features.map((feature) => [feature.featureId, feature.name])) };
      this.problem = null;
    } catch (error) {
      if (load !== this.#loads) return;
      this.loaded = null;
      this.problem =
        error instanceof ApiRefusal
          ? { kind: 'refused', status: error.status, code: error.code, message: error.message }
          : { kind: 'unavailable', message: error instanceof Error ? error.message : String(error) };
      console.error(`<credits-balance>: ${this.problem.message}`);
      // The page can mint a new session token and set it: the widget then reads the account again.
      if (this.problem.kind === 'refused' && this.problem.status === 401) {
        this.dispatchEvent(new CustomEvent('credits-balance-unauthorized', { bubbles: true, composed: true, detail: { code: this.problem.code, message: this.problem.message } }));
      }
    }
  }

  private date(iso: string, zone: string): string {
    return new Intl.DateTimeFormat(this.locale ?? undefined, { dateStyle: 'medium', timeZone: zone }).format(new Date(iso));
  }

  private credits(value: number): string {
    return formatCredits(value, this.locale ?? undefined);
  }

  private refreshLine(account: AccountView): TemplateResult {
    const { period, renewal } = account;
    if (period === null || renewal === null) return html`<p class="refresh muted">Your plan is starting.</p>`;
    const days = period.daysLeft === 1 ? '1 day' : `${period.daysLeft} days`;
    const granted = renewal.grants.reduce((sum, grant) => sum + grant.credits, 0);
    if (account.status === 'cancelling' || account.status === 'cancelled' || granted === 0) {
      return html`<p class="refresh">Your plan ends in <strong>${days}</strong>, on ${this.date(renewal.at, account.timeZone)}. Purchased credits stay.</p>`;
    }
    return html`<p class="refresh">
      Refreshes in <strong>${days}</strong>, on ${this.date(renewal.at, account.timeZone)}, with ${this.credits(granted)} credits.
    </p>`;
  }

  private usage(loaded: Loaded): TemplateResult {
    const rows = [...loaded.usage.rows].sort((a, b) => b.credits - a.credits);
    const most = Math.max(0, ...rows.map((row) => row.credits));
    return html`<section class="usage" part="usage">
      <h2>Used this period</h2>
      ${rows.length === 0
        ? html`<p class="muted">Nothing yet.</p>`
        : html`<ul>
            ${rows.map(
              (row) => html`<li>
                <span class="line"><span>${loaded.featureNames.get(row.key) ?? row.key}</span><span>${this.credits(row.credits)}</span></span>
                <svg viewBox="0 0 100 6" width="100%" height="6" preserveAspectRatio="none" aria-hidden="true">
                  ${svg`<rect class="track" x="0" y="0" width="100" height="6" rx="3"></rect>
                    <rect class="bar" x="0" y="0" width=${most === 0 ? 0 : (row.credits / most) * 100} height="6" rx="3"></rect>`}
                </svg>
              </li>`,
            )}
          </ul>`}
    </section>`;
  }

  private expiring(account: AccountView): TemplateResult {
    const soon = expiries(account);
    const lasting = account.grants
      .filter((grant) => grant.status === 'active' && grant.available > 0 && grant.expiresAt === null)
      .reduce((sum, grant) => sum + grant.available, 0);
    return html`<section class="expiring" part="expiring">
      <h2>Expiring</h2>
      ${soon.length === 0 && lasting === 0 ? html`<p class="muted">Nothing expires.</p>` : nothing}
      <ul>
        ${soon.map(
          (expiry) => html`<li>
            <span>${this.credits(expiry.credits)} ${SOURCE_WORDS[expiry.source] ?? expiry.source} credits</span>
            <span class="muted">${this.date(expiry.at, account.timeZone)}</span>
          </li>`,
        )}
        ${lasting === 0 ? nothing : html`<li><span>${this.credits(lasting)} credits</span><span class="muted">never expire</span></li>`}
      </ul>
    </section>`;
  }

  protected override render(): TemplateResult {
    const { loaded, problem } = this;
    if (problem !== null) {
      return html`<p class="problem" role="alert" part="problem">
        ${problem.kind === 'refused' ? refusalText(problem) : problem.kind === 'unavailable' ? 'Your credits cannot be shown right now.' : problem.message}
      </p>`;
    }
    if (loaded === null) return html`<p class="muted" aria-busy="true">Loading your credits…</p>`;
    const { account } = loaded;
    return html`
      <div part="balance">
        <h2>Available credits</h2>
        <p class="available">${this.credits(account.balance.available)}</p>
        ${account.balance.held > 0 ? html`<p class="muted">${this.credits(account.balance.held)} reserved by running jobs</p>` : nothing}
        ${this.refreshLine(account)}
      </div>
      ${this.expiring(account)} ${this.usage(loaded)}
    `;
  }
}

if (!customElements.get('credits-balance')) customElements.define('credits-balance', CreditsBalance);

declare global {
  interface HTMLElementTagNameMap {
    'credits-balance': CreditsBalance;
  }
}
