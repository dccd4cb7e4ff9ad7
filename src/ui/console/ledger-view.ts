import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { LedgerPage, LedgerParams } from '../../client/client.js';
import { ENTRY_KINDS } from '../../contract/fields.js';
import { formatCredits, zonedInstant, zonedLocal } from '../format.js';
import { AccountPart, failure, formParams, routeHash } from './shared.js';

const PAGE = 100;
const TEXT_FILTERS = [
  ['feature', 'Feature'],
  ['userId', 'User'],
  ['jobId', 'Job'],
  ['grantId', 'Grant'],
] as const;

type Entry = LedgerPage['entries'][number];

const signed = (credits: number): string => (credits > 0 ? `+${formatCredits(credits)}` : formatCredits(credits));

/** The explainable ledger: every entry with the grant it touched and its cause in words, filtered as the URL says. */
export class LedgerPart extends AccountPart {
  static override properties = { entries: { state: true }, nextAfter: { state: true }, error: { state: true } };
  declare entries: Entry[] | null;
  declare nextAfter: number | null;
  declare error: unknown;
  #loads = 0;

  constructor() {
    super();
    this.entries = null;
    this.nextAfter = null;
    this.error = null;
  }

  /** The filters of the URL the API takes; an unknown kind is dropped rather than sent to be refused. */
  private filters(): LedgerParams {
    const kind = ENTRY_KINDS.find((known) => known === this.params.get('kind'));
    const filters: LedgerParams = { limit: PAGE, ...(kind ? { kind } : {}) };
    for (const name of ['feature', 'userId', 'jobId', 'grantId', 'from', 'to'] as const) {
      const value = this.params.get(name);
      if (value !== null) filters[name] = value;
    }
    return filters;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.mustReload(changed)) void this.load(false);
  }

  private async load(more: boolean): Promise<void> {
    const load = ++this.#loads;
    try {
      const after = more ? this.nextAfter : null;
      const page = await this.client.ledger(this.account.accountId, { ...this.filters(), ...(after === null ? {} : { after }) });
      if (load !== this.#loads) return;
      this.entries = more ? [...(this.entries ?? []), ...page.entries] : page.entries;
      this.nextAfter = page.nextAfter;
      this.error = null;
    } catch (error) {
      if (load === this.#loads) this.error = error;
    }
  }

  private readonly onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    const params = formParams(event.target as HTMLFormElement);
    for (const bound of ['from', 'to'] as const) {
      const local = params.get(bound);
      const instant = local === null ? null : zonedInstant(local, this.account.timeZone);
      if (instant === null) params.delete(bound);
      else params.set(bound, instant);
    }
    location.hash = routeHash(this.account.accountId, 'ledger', params);
  };

  private readonly onMore = (): void => {
    void this.load(true);
  };

  private row(entry: Entry): TemplateResult {
    const { cause } = entry;
    return html`<tr class="kind-${entry.kind}">
      <td class="number">${entry.entryId}</td>
      <td class="time">${this.at(entry.occurredAt)}</td>
      <td>${entry.kind}</td>
      <td class="number">${signed(entry.amount)}</td>
      <td class="number">${entry.heldChange === 0 ? '' : signed(entry.heldChange)}</td>
      <td>${entry.grantId} ${entry.grantSource}</td>
      <td>${cause.kind}${entry.operationId === null ? '' : ` ${entry.operationId}`}</td>
      <td class="key">${cause.idempotencyKey ?? ''}</td>
      <td>${cause.reason}${cause.operator === null ? '' : html` <span class="muted">(${cause.operator})</span>`}</td>
    </tr>`;
  }

  protected override render(): TemplateResult {
    const zone = this.account.timeZone;
    const from = this.params.get('from');
    const to = this.params.get('to');
    return html`
      <form class="filters" @submit=${this.onSubmit}>
        <label
          >Kind
          <select name="kind" .value=${this.params.get('kind') ?? ''}>
            <option value="">any</option>
            ${ENTRY_KINDS.map((kind) => html`<option value=${kind} ?selected=${this.params.get('kind') === kind}>${kind}</option>`)}
          </select>
        </label>
        ${TEXT_FILTERS.map(([name, label]) => html`<label>${label} <input name=${name} .value=${this.params.get(name) ?? ''} size="12" /></label>`)}
        <label>From <input type="datetime-local" step="1" name="from" .value=${from === null ? '' : zonedLocal(from, zone)} /></label>
        <label>To <input type="datetime-local" step="1" name="to" .value=${to === null ? '' : zonedLocal(to, zone)} /></label>
        <button type="submit">Filter</button>
        <a href=${routeHash(this.account.accountId, 'ledger')}>Clear</a>
      </form>
      ${this.error === null ? nothing : failure(this.error)}
      ${this.entries === null
        ? html`<p class="loading">Loading the ledger…</p>`
        : html`<table class="ledger">
              <caption>
                ${this.entries.length} ledger ${this.entries.length === 1 ? 'entry' : 'entries'}, times in ${zone}
              </caption>
              <thead>
                <tr>
                  <th>Entry</th><th>Occurred</th><th>Kind</th><th>Amount</th><th>Held</th><th>Grant</th><th>By</th><th>Key</th><th>Why</th>
                </tr>
              </thead>
              <tbody>
                ${this.entries.map((entry) => this.row(entry))}
              </tbody>
            </table>
            ${this.nextAfter === null ? nothing : html`<button type="button" @click=${this.onMore}>More entries</button>`}`}
    `;
  }
}

customElements.define('credits-ledger', LedgerPart);
