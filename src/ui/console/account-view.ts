import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { AccountView, CreditsClient } from '../../client/client.js';
import { GRANT_SOURCES, type GrantSource } from '../../contract/fields.js';
import { formatCredits, zonedIso } from '../format.js';
import { ConsoleElement, daysUntil, failure, routeHash, TABS, type Tab } from './shared.js';
import './events-view.js';
import './grants-view.js';
import './jobs-view.js';
import './ledger-view.js';
import './usage-view.js';

const TAB_NAMES: Record<Tab, string> = { usage: 'Usage', ledger: 'Ledger', grants: 'Grants', jobs: 'Jobs', events: 'Events' };

/** How often the summary is read again while the account is shown: a top-up or a job elsewhere shows up without a reload. */
const POLL_MS = 5_000;

/** When the soonest of a source's spendable credits expire: what "balance by source with days left" shows. */
function soonestExpiry(account: AccountView, source: GrantSource): string | null {
  const expiries = account.grants
    .filter((grant) => grant.source === source && grant.status === 'active' && grant.available > 0 && grant.expiresAt !== null)
    .map((grant) => grant.expiresAt ?? '')
    .sort();
  return expiries[0] ?? null;
}

/**
 * One account: who it is, its balance by source, the renewal, and a tab of detail (usage, ledger,
 * grants, jobs, events). The summary is read again every few seconds, on every move between tabs and
 * filters, and when a view changed the account (a job resumed or cancelled: `credits-account-changed`).
 */
export class AccountPage extends ConsoleElement {
  static override properties = {
    client: { attribute: false },
    accountId: { attribute: false },
    tab: { attribute: false },
    params: { attribute: false },
    account: { state: true },
    error: { state: true },
  };
  declare client: CreditsClient;
  declare accountId: string;
  declare tab: Tab;
  declare params: URLSearchParams;
  declare account: AccountView | null;
  declare error: unknown;
  #loads = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.account = null;
    this.error = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('accountId') || changed.has('client')) this.account = null;
    if (changed.has('accountId') || changed.has('client') || changed.has('tab') || changed.has('params')) void this.load();
  }

  private async load(): Promise<void> {
    clearTimeout(this.#timer);
    const load = ++this.#loads;
    try {
      const account = await this.client.getAccount(this.accountId);
      if (load !== this.#loads) return;
      this.account = account;
      this.error = null;
    } catch (error) {
      if (load !== this.#loads) return;
      this.error = error;
    }
    if (this.isConnected) this.#timer = setTimeout(() => void this.load(), POLL_MS);
  }

  private readonly onRefresh = (): void => {
    void this.load();
  };

  private summary(account: AccountView): TemplateResult {
    const zone = account.timeZone;
    const at = (iso: string) => zonedIso(iso, zone);
    const { balance, renewal } = account;
    return html`<section class="summary" aria-label="account ${account.accountId}">
      <header>
        <h2>${account.accountId}</h2>
        <span class="badge status-${account.status}">${account.status}</span>
        <button type="button" class="quiet" @click=${this.onRefresh}>Refresh</button>
      </header>
      <dl class="facts">
        <div><dt>Plan</dt><dd>${account.planId} × ${account.seats} ${account.seats === 1 ? 'seat' : 'seats'}</dd></div>
        ${account.nextPlan === null ? nothing : html`<div><dt>Next period</dt><dd>${account.nextPlan.planId} × ${account.nextPlan.seats}</dd></div>`}
        <div><dt>Time zone</dt><dd>${zone}</dd></div>
        ${account.period === null
          ? html`<div><dt>Period</dt><dd>opening</dd></div>`
          : html`<div><dt>Period</dt><dd>${at(account.period.start)} → ${at(account.period.end)}</dd></div>
              <div><dt>Days left</dt><dd class="days-left">${account.period.daysLeft}</dd></div>`}
      </dl>
      <div class="balance">
        <div class="card total">
          <span class="label">Available</span>
          <span class="value" data-source="available">${formatCredits(balance.available)}</span>
          <span class="muted">${formatCredits(balance.held)} held by jobs</span>
        </div>
        ${GRANT_SOURCES.map((source) => {
          const expiry = soonestExpiry(account, source);
          const credits = balance.bySource[source];
          return html`<div class="card ${credits === 0 ? 'empty' : ''}">
            <span class="label">${source}</span>
            <span class="value" data-source=${source}>${formatCredits(credits)}</span>
            <span class="muted"
              >${credits === 0 ? '' : expiry === null ? 'never expires' : html`expires in ${daysUntil(expiry)} d, <span class="time">${at(expiry)}</span>`}</span
            >
          </div>`;
        })}
      </div>
      ${renewal === null
        ? nothing
        : html`<p class="renewal">
            Renews <span class="time">${at(renewal.at)}</span>:
            ${renewal.grants.length === 0 ? 'grants nothing' : `grants ${renewal.grants.map((grant) => `${formatCredits(grant.credits)} ${grant.source}`).join(', ')}`};
            ${renewal.expires.length === 0
              ? 'nothing expires'
              : `expires ${renewal.expires.map((grant) => `${formatCredits(grant.credits)} ${grant.source} (grant ${grant.grantId})`).join(', ')}`}.
          </p>`}
    </section>`;
  }

  private view(account: AccountView): TemplateResult {
    switch (this.tab) {
      case 'usage':
        return html`<credits-usage .client=${this.client} .account=${account} .params=${this.params}></credits-usage>`;
      case 'ledger':
        return html`<credits-ledger .client=${this.client} .account=${account} .params=${this.params}></credits-ledger>`;
      case 'grants':
        return html`<credits-grants .client=${this.client} .account=${account} .params=${this.params}></credits-grants>`;
      case 'jobs':
        return html`<credits-jobs .client=${this.client} .account=${account} .params=${this.params}></credits-jobs>`;
      case 'events':
        return html`<credits-events .client=${this.client} .account=${account} .params=${this.params}></credits-events>`;
    }
  }

  protected override render(): TemplateResult {
    const account = this.account;
    if (account === null) return this.error === null ? html`<p class="loading">Loading ${this.accountId}…</p>` : failure(this.error);
    return html`
      ${this.summary(account)} ${this.error === null ? nothing : failure(this.error)}
      <nav class="tabs" aria-label="account views">
        ${TABS.map((tab) => html`<a href=${routeHash(account.accountId, tab)} aria-current=${tab === this.tab ? 'page' : 'false'}>${TAB_NAMES[tab]}</a>`)}
      </nav>
      <section class="part" @credits-account-changed=${this.onRefresh}>${this.view(account)}</section>
    `;
  }
}

customElements.define('credits-account', AccountPage);
