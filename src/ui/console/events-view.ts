import { html, nothing, type TemplateResult } from 'lit';
import type { EventsPage } from '../../client/client.js';
import { AccountPart, failure } from './shared.js';

/** The feed is read oldest first; this many of the newest are shown. */
const SHOWN = 200;
const PAGE = 1_000;
/** Pages read to reach the end of the feed: an account with more events shows its latest as of that point and follows from there. */
const MAX_PAGES = 20;
const POLL_MS = 3_000;

type Event = EventsPage['events'][number];

/** The account's domain events (job, period, expiry and balance alerts), newest first, followed as they arrive. */
export class EventsPart extends AccountPart {
  static override properties = { events: { state: true }, error: { state: true } };
  declare events: Event[] | null;
  declare error: unknown;
  #after = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.events = null;
    this.error = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.follow(MAX_PAGES);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads pages after the cursor (up to `pages` of them), keeps the newest, then waits and reads again. */
  private async follow(pages: number): Promise<void> {
    try {
      let events = this.events ?? [];
      for (let page = 0; page < pages; page++) {
        const read = await this.client.events({ accountId: this.account.accountId, after: this.#after, limit: PAGE });
        this.#after = read.nextAfter;
        events = [...read.events.reverse(), ...events].slice(0, SHOWN);
        if (read.events.length < PAGE) break;
      }
      this.events = events;
      this.error = null;
    } catch (error) {
      this.error = error;
    }
    if (this.isConnected) this.#timer = setTimeout(() => void this.follow(1), POLL_MS);
  }

  private row(event: Event): TemplateResult {
    return html`<tr>
      <td class="number">${event.eventId}</td>
      <td class="time">${this.at(event.occurredAt)}</td>
      <td>${event.type}</td>
      <td>${event.jobId ?? ''}</td>
      <td><code>${JSON.stringify(event.data)}</code></td>
    </tr>`;
  }

  protected override render(): TemplateResult {
    return html`
      ${this.error === null ? nothing : failure(this.error)}
      ${this.events === null
        ? html`<p class="loading">Loading events…</p>`
        : html`<table class="events">
            <caption>
              ${this.events.length === 0 ? 'No events yet' : `The latest ${this.events.length} events, newest first, times in ${this.account.timeZone}`}
            </caption>
            <thead>
              <tr><th>Event</th><th>Occurred</th><th>Type</th><th>Job</th><th>Data</th></tr>
            </thead>
            <tbody>
              ${this.events.map((event) => this.row(event))}
            </tbody>
          </table>`}
    `;
  }
}

customElements.define('credits-events', EventsPart);
