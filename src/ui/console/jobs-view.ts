import { html, nothing, type TemplateResult } from 'lit';
import type { JobView } from '../../client/client.js';
import { canCancelJob, canResumeJob, isFinalJobStatus } from '../../contract/job-status.js';
import { formatCredits } from '../format.js';
import { AccountPart, failure } from './shared.js';

/** How often the list is read while it is shown: often enough for a progress bar to move. */
const POLL_MS = 1_000;
const LIMIT = 100;

type Action = 'resume' | 'cancel';

/**
 * The account's bulk jobs, read again every second while shown: progress, why a job is paused, what
 * it still needs against what the account has, and resume / cancel. A refused action says why
 * (INSUFFICIENT_CREDITS with what is needed and available) next to its job.
 */
export class JobsPart extends AccountPart {
  static override properties = { jobs: { state: true }, error: { state: true }, outcomes: { state: true }, busy: { state: true } };
  declare jobs: JobView[] | null;
  declare error: unknown;
  /** The last action's refusal per job, until the next action on it. */
  declare outcomes: ReadonlyMap<string, unknown>;
  declare busy: ReadonlySet<string>;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.jobs = null;
    this.error = null;
    this.outcomes = new Map();
    this.busy = new Set();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One read, then the next one a second after it answers, so that a slow API is never asked twice at
   * once. A job that moved (paused, resumed, ended) changed the account's balance: the page reads it again.
   */
  private async poll(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      const before = new Map(this.jobs?.map((job) => [job.jobId, job.status]));
      this.jobs = (await this.client.listJobs(this.account.accountId, { limit: LIMIT })).jobs;
      this.error = null;
      if (before.size > 0 && this.jobs.some((job) => before.get(job.jobId) !== job.status)) this.accountChanged();
    } catch (error) {
      this.error = error;
    }
    if (this.isConnected) this.#timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private async act(job: JobView, action: Action): Promise<void> {
    this.busy = new Set([...this.busy, job.jobId]);
    const outcomes = new Map(this.outcomes);
    outcomes.delete(job.jobId);
    try {
      await (action === 'resume' ? this.client.resumeJob(job.jobId) : this.client.cancelJob(job.jobId));
    } catch (error) {
      outcomes.set(job.jobId, error);
    }
    this.outcomes = outcomes;
    this.busy = new Set([...this.busy].filter((id) => id !== job.jobId));
    this.accountChanged();
    await this.poll();
  }

  private accountChanged(): void {
    this.dispatchEvent(new Event('credits-account-changed', { bubbles: true }));
  }

  private job(job: JobView): TemplateResult {
    const { progress, credits } = job;
    const busy = this.busy.has(job.jobId);
    const outcome = this.outcomes.get(job.jobId);
    const percent = progress.total === 0 ? 0 : Math.floor((progress.processed / progress.total) * 100);
    return html`<article class="job status-${job.status}" data-job=${job.jobId}>
      <header>
        <h3>${job.jobId}</h3>
        <span class="badge status-${job.status}">${job.status}</span>
        ${job.pauseReason === null ? nothing : html`<span class="reason">paused: ${job.pauseReason}</span>`}
        ${job.stopReason === null ? nothing : html`<span class="reason">${job.stopReason}</span>`}
      </header>
      <p class="muted">${job.feature} by ${job.userId}, created ${this.at(job.createdAt)}</p>
      <div class="progress">
        <progress max=${Math.max(progress.total, 1)} value=${progress.processed} aria-label="progress of ${job.jobId}"></progress>
        <span>${progress.processed} / ${progress.total} records (${percent} %): ${progress.verified} verified, ${progress.notFound} not found, ${progress.failed} failed</span>
      </div>
      <dl class="facts">
        <div><dt>Reserved</dt><dd>${formatCredits(credits.reserved)}</dd></div>
        <div><dt>Charged</dt><dd>${formatCredits(credits.charged)}</dd></div>
        <div><dt>Held</dt><dd>${formatCredits(credits.held)}</dd></div>
        <div><dt>Released</dt><dd>${formatCredits(credits.released)}</dd></div>
        ${isFinalJobStatus(job.status)
          ? nothing
          : html`<div><dt>Still needed</dt><dd class="needed">${formatCredits(credits.needed)}</dd></div>
              <div><dt>Account has</dt><dd class="available">${formatCredits(credits.accountAvailable)}</dd></div>`}
        ${job.maxCredits === null ? nothing : html`<div><dt>Cap</dt><dd>${formatCredits(job.maxCredits)}</dd></div>`}
      </dl>
      <div class="actions">
        ${canResumeJob(job.status) ? html`<button type="button" ?disabled=${busy} @click=${() => void this.act(job, 'resume')}>Resume ${job.jobId}</button>` : nothing}
        ${canCancelJob(job.status) ? html`<button type="button" class="danger" ?disabled=${busy} @click=${() => void this.act(job, 'cancel')}>Cancel ${job.jobId}</button>` : nothing}
      </div>
      ${outcome === undefined ? nothing : failure(outcome)}
    </article>`;
  }

  protected override render(): TemplateResult {
    return html`
      ${this.error === null ? nothing : failure(this.error)}
      ${this.jobs === null
        ? html`<p class="loading">Loading jobs…</p>`
        : this.jobs.length === 0
          ? html`<p class="empty">This account has no bulk jobs.</p>`
          : html`<div class="jobs">${this.jobs.map((job) => this.job(job))}</div>`}
    `;
  }
}

customElements.define('credits-jobs', JobsPart);
