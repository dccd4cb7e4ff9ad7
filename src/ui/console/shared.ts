import { html, LitElement, nothing, type PropertyDeclarations, type PropertyValues, type TemplateResult } from 'lit';
import { CreditsApiError, type AccountView, type CreditsClient } from '../../client/client.js';
import { zonedIso } from '../format.js';

/**
 * The console's elements render into the page itself, not into shadow roots: one stylesheet
 * (console.css, served from this origin as the CSP requires) styles them all, and a test or a
 * screen reader finds their fields by label.
 */
export class ConsoleElement extends LitElement {
  protected override createRenderRoot(): HTMLElement {
    return this;
  }
}

/** What every view of an account is given: the client (holding the operator's token), the account as last read, and its part of the URL. */
export class AccountPart extends ConsoleElement {
  static override properties: PropertyDeclarations = {
    client: { attribute: false },
    account: { attribute: false },
    params: { attribute: false },
  };
  declare client: CreditsClient;
  declare account: AccountView;
  declare params: URLSearchParams;

  /**
   * Whether the view must read again: its filters changed, or it shows another account. A fresher
   * read of the same account (the page re-reads it every few seconds) keeps what the view has loaded.
   */
  protected mustReload(changed: PropertyValues<this>): boolean {
    return changed.has('params') || (changed.has('account') && changed.get('account')?.accountId !== this.account.accountId);
  }

  /** An instant in the account's time zone, as the CLI prints it. */
  protected at(iso: string | null, none = '—'): string {
    return iso === null ? none : zonedIso(iso, this.account.timeZone);
  }
}

export const TABS = ['usage', 'ledger', 'grants', 'jobs', 'events'] as const;
export type Tab = (typeof TABS)[number];

/** Where the console is: `#/accounts/<id>/<tab>?<filters>`, so that a view can be bookmarked, shared and reloaded. */
export interface Route {
  accountId: string | null;
  tab: Tab;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const [, section, accountId, tab] = path.split('/').map((part) => decodeURIComponent(part));
  const known = TABS.find((name) => name === tab) ?? 'usage';
  return { accountId: section === 'accounts' && accountId ? accountId : null, tab: known, params: new URLSearchParams(query) };
}

export function routeHash(accountId: string, tab: Tab, params: URLSearchParams = new URLSearchParams()): string {
  const query = params.toString();
  return `#/accounts/${encodeURIComponent(accountId)}/${tab}${query ? `?${query}` : ''}`;
}

/** The non-empty fields of a form, as the URL's query: a filter left blank is no filter. */
export function formParams(form: HTMLFormElement): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value.trim() !== '') params.set(name, value.trim());
  return params;
}

/** A failure as an operator reads it: the API's code and message, and the details that explain a refusal (needed, available, …). */
export function failure(error: unknown): TemplateResult {
  if (error instanceof CreditsApiError) {
    const details = Object.keys(error.details).length > 0 ? JSON.stringify(error.details) : null;
    return html`<p class="error" role="alert"><strong>${error.code}</strong>: ${error.message} ${details === null ? nothing : html`<code>${details}</code>`}</p>`;
  }
  return html`<p class="error" role="alert">${error instanceof Error ? error.message : String(error)}</p>`;
}

/** Whole days from now until an instant, rounded up: what "expires in N days" says. */
export function daysUntil(iso: string, now = Date.now()): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - now) / 86_400_000));
}
