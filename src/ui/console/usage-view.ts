import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { UsageView } from '../../client/client.js';
import { daysBetween, formatCredits, zonedDay, zonedInstant, zonedLocal } from '../format.js';
import { dailyColumns, horizontalBars, type Bar } from './charts.js';
import { AccountPart, failure, formParams, routeHash } from './shared.js';

/** Ranges longer than this are charted as the days that had usage, not day by day. */
const MAX_CHARTED_DAYS = 120;

interface Usage {
  from: string;
  to: string;
  feature: UsageView;
  user: UsageView;
  day: UsageView;
}

const bar = (row: UsageView['rows'][number], label = row.key): Bar => ({
  label,
  credits: row.credits,
  detail: `${row.charges} charges, ${row.quantity} units${row.refunded > 0 ? `, ${formatCredits(row.refunded)} refunded` : ''}`,
});

/** Usage by feature, by user and by day over a range (the current period unless the URL says otherwise). */
export class UsagePart extends AccountPart {
  static override properties = { usage: { state: true }, error: { state: true } };
  declare usage: Usage | null;
  declare error: unknown;
  #loads = 0;

  constructor() {
    super();
    this.usage = null;
    this.error = null;
  }

  /** The range asked for, or the account's current period, or the last 30 days. */
  private range(): { from: string; to: string } {
    const now = Date.now();
    return {
      from: this.params.get('from') ?? this.account.period?.start ?? new Date(now - 30 * 86_400_000).toISOString(),
      to: this.params.get('to') ?? this.account.period?.end ?? new Date(now).toISOString(),
    };
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.mustReload(changed)) void this.load();
  }

  private async load(): Promise<void> {
    const load = ++this.#loads;
    const { from, to } = this.range();
    const accountId = this.account.accountId;
    try {
      const [feature, user, day] = await Promise.all(
        (['feature', 'user', 'day'] as const).map((groupBy) => this.client.usage(accountId, { from, to, groupBy })),
      );
      if (load !== this.#loads || !feature || !user || !day) return;
      this.usage = { from, to, feature, user, day };
      this.error = null;
    } catch (error) {
      if (load === this.#loads) this.error = error;
    }
  }

  private readonly onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    const form = formParams(event.target as HTMLFormElement);
    const params = new URLSearchParams();
    for (const bound of ['from', 'to'] as const) {
      const local = form.get(bound);
      const instant = local === null ? null : zonedInstant(local, this.account.timeZone);
      if (instant !== null) params.set(bound, instant);
    }
    location.hash = routeHash(this.account.accountId, 'usage', params);
  };

  private days(usage: Usage): Bar[] {
    const byDay = new Map(usage.day.rows.map((row) => [row.key, row]));
    const zone = this.account.timeZone;
    // `to` is excluded from the range: its day is the day of the instant just before it.
    const dates = daysBetween(zonedDay(usage.from, zone), zonedDay(new Date(Date.parse(usage.to) - 1).toISOString(), zone), MAX_CHARTED_DAYS + 1);
    const charted = dates.length > MAX_CHARTED_DAYS ? usage.day.rows.map((row) => row.key) : dates;
    return charted.map((date) => {
      const row = byDay.get(date);
      return row ? bar(row) : { label: date, credits: 0, detail: 'no charges' };
    });
  }

  protected override render(): TemplateResult {
    const { from, to } = this.range();
    const zone = this.account.timeZone;
    const usage = this.usage;
    const total = usage?.feature.rows.reduce((sum, row) => sum + row.credits, 0) ?? 0;
    return html`
      <form class="filters" @submit=${this.onSubmit}>
        <label>From <input type="datetime-local" step="1" name="from" .value=${zonedLocal(from, zone)} /></label>
        <label>To <input type="datetime-local" step="1" name="to" .value=${zonedLocal(to, zone)} /></label>
        <button type="submit">Show usage</button>
        <span class="hint">in ${zone}</span>
      </form>
      ${this.error === null ? nothing : failure(this.error)}
      ${usage === null
        ? html`<p class="loading">Loading usage…</p>`
        : html`
            <p class="usage-total">${formatCredits(total)} credits charged from ${this.at(usage.from)} to ${this.at(usage.to)}</p>
            <div class="charts">
              ${horizontalBars(usage.feature.rows.map((row) => bar(row)), 'Credits by feature')}
              ${horizontalBars(usage.user.rows.map((row) => bar(row)), 'Credits by user')}
            </div>
            ${dailyColumns(this.days(usage), `Credits by day (${zone})`)}
          `}
    `;
  }
}

customElements.define('credits-usage', UsagePart);
