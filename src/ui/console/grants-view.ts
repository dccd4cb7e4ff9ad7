import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { GrantPage, GrantsParams } from '../../client/client.js';
import { GRANT_SOURCES, GRANT_STATUSES } from '../../contract/fields.js';
import { formatCredits } from '../format.js';
import { AccountPart, failure, formParams, routeHash } from './shared.js';

const PAGE = 200;

type Grant = GrantPage['grants'][number];

/** Every grant of the account, whatever its status, with what it had, has, holds and lost to expiry. */
export class GrantsPart extends AccountPart {
  static override properties = { grants: { state: true }, nextAfter: { state: true }, error: { state: true } };
  declare grants: Grant[] | null;
  declare nextAfter: number | null;
  declare error: unknown;
  #loads = 0;

  constructor() {
    super();
    this.grants = null;
    this.nextAfter = null;
    this.error = null;
  }

  private filters(): GrantsParams {
    const status = GRANT_STATUSES.find((known) => known === this.params.get('status'));
    const source = GRANT_SOURCES.find((known) => known === this.params.get('source'));
    return { limit: PAGE, ...(status ? { status } : {}), ...(source ? { source } : {}) };
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.mustReload(changed)) void this.load(false);
  }

  private async load(more: boolean): Promise<void> {
    const load = ++this.#loads;
    try {
      const after = more ? this.nextAfter : null;
      const page = await this.client.grants(this.account.accountId, { ...this.filters(), ...(after === null ? {} : { after }) });
      if (load !== this.#loads) return;
      this.grants = more ? [...(this.grants ?? []), ...page.grants] : page.grants;
      this.nextAfter = page.nextAfter;
      this.error = null;
    } catch (error) {
      if (load === this.#loads) this.error = error;
    }
  }

  private readonly onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    location.hash = routeHash(this.account.accountId, 'grants', formParams(event.target as HTMLFormElement));
  };

  private readonly onMore = (): void => {
    void this.load(true);
  };

  private select(name: 'status' | 'source', values: readonly string[], label: string): TemplateResult {
    return html`<label
      >${label}
      <select name=${name} .value=${this.params.get(name) ?? ''}>
        <option value="">any</option>
        ${values.map((value) => html`<option value=${value} ?selected=${this.params.get(name) === value}>${value}</option>`)}
      </select>
    </label>`;
  }

  private row(grant: Grant): TemplateResult {
    return html`<tr class="status-${grant.status}">
      <td class="number">${grant.id}</td>
      <td>${grant.source}</td>
      <td><span class="badge status-${grant.status}">${grant.status}</span></td>
      <td class="number">${formatCredits(grant.amount)}</td>
      <td class="number">${formatCredits(grant.remaining)}</td>
      <td class="number">${formatCredits(grant.held)}</td>
      <td class="number">${formatCredits(grant.expired)}</td>
      <td class="time">${this.at(grant.effectiveAt)}</td>
      <td class="time">${this.at(grant.expiresAt, 'never')}</td>
      <td class="number">${grant.priority}</td>
      <td>${grant.features === null ? 'any' : grant.features.join(', ')}</td>
      <td class="key">${grant.idempotencyKey}</td>
    </tr>`;
  }

  protected override render(): TemplateResult {
    return html`
      <form class="filters" @submit=${this.onSubmit}>
        ${this.select('status', GRANT_STATUSES, 'Status')} ${this.select('source', GRANT_SOURCES, 'Source')}
        <button type="submit">Filter</button>
      </form>
      ${this.error === null ? nothing : failure(this.error)}
      ${this.grants === null
        ? html`<p class="loading">Loading grants…</p>`
        : html`<table class="grants">
              <caption>
                ${this.grants.length} ${this.grants.length === 1 ? 'grant' : 'grants'}, times in ${this.account.timeZone}
              </caption>
              <thead>
                <tr>
                  <th>Grant</th><th>Source</th><th>Status</th><th>Amount</th><th>Remaining</th><th>Held</th><th>Expired</th><th>Effective</th><th>Expires</th><th>Priority</th><th>Features</th><th>Key</th>
                </tr>
              </thead>
              <tbody>
                ${this.grants.map((grant) => this.row(grant))}
              </tbody>
            </table>
            ${this.nextAfter === null ? nothing : html`<button type="button" @click=${this.onMore}>More grants</button>`}`}
    `;
  }
}

customElements.define('credits-grants', GrantsPart);
