import { html, nothing, type TemplateResult } from 'lit';
import { createCreditsClient, type CreditsClient } from '../../client/client.js';
import { ConsoleElement, parseRoute, routeHash, type Route } from './shared.js';
import './account-view.js';

/** The operator's token lives in this tab only: gone when the tab closes, never in a cookie, sent to this API only. */
const TOKEN_KEY = 'credits-console-token';
const RECENT_KEY = 'credits-console-recent';
const RECENT_MAX = 10;
/** Accounts the finder suggests as the operator types, and how long it waits for the typing to pause. */
const MATCHES_MAX = 10;
const FIND_PAUSE_MS = 150;

/**
 * The console at /console: the operator types an API token (admin or read; resume and cancel need a
 * service or admin one), then finds an account by the start of its id and opens it. It calls the /v1 API of the origin that
 * served it with the typed client, so every answer is checked against the same contract as the
 * product's backend sees.
 */
export class CreditsConsole extends ConsoleElement {
  static override properties = { token: { state: true }, route: { state: true }, notice: { state: true }, suggested: { state: true } };
  declare token: string | null;
  declare route: Route;
  declare notice: string | null;
  /** Accounts whose id starts with what is typed in the finder (GET /v1/accounts?prefix=). */
  declare suggested: string[];
  #client: CreditsClient | null = null;
  #findTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.token = sessionStorage.getItem(TOKEN_KEY);
    this.route = parseRoute(location.hash);
    this.notice = null;
    this.suggested = [];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHashChange);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHashChange);
  }

  private readonly onHashChange = (): void => {
    this.route = parseRoute(location.hash);
  };

  /** A client for the token, made again when the token changes; a 401 from any call asks for a token again. */
  private client(token: string): CreditsClient {
    if (this.#client === null) {
      const refused = () => {
        this.forget('The API refused this token (401): it is unknown, revoked or expired. Enter a valid one.');
      };
      this.#client = createCreditsClient({
        baseUrl: location.origin,
        token,
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (response.status === 401) refused();
          return response;
        },
      });
    }
    return this.#client;
  }

  private forget(notice: string | null): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.#client = null;
    this.token = null;
    this.notice = notice;
  }

  private readonly onToken = (event: SubmitEvent): void => {
    event.preventDefault();
    const token = new FormData(event.target as HTMLFormElement).get('token');
    if (typeof token !== 'string' || token.trim() === '') return;
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    this.#client = null;
    this.token = token.trim();
    this.notice = null;
  };

  private readonly onForget = (): void => {
    this.forget(null);
  };

  private readonly onFind = (event: SubmitEvent): void => {
    event.preventDefault();
    const accountId = new FormData(event.target as HTMLFormElement).get('account');
    if (typeof accountId !== 'string' || accountId.trim() === '') return;
    const recent = [accountId.trim(), ...this.recent().filter((id) => id !== accountId.trim())].slice(0, RECENT_MAX);
    sessionStorage.setItem(RECENT_KEY, JSON.stringify(recent));
    location.hash = routeHash(accountId.trim(), 'usage');
  };

  private readonly onFinderInput = (event: InputEvent): void => {
    const prefix = (event.target as HTMLInputElement).value.trim();
    clearTimeout(this.#findTimer);
    if (prefix === '' || this.token === null) {
      this.suggested = [];
      return;
    }
    const client = this.client(this.token);
    this.#findTimer = setTimeout(() => {
      client.listAccounts({ prefix, limit: MATCHES_MAX }).then(
        ({ accounts }) => {
          this.suggested = accounts.map((account) => account.accountId);
        },
        // A failed lookup only leaves the suggestions as they were; a 401 already asks for a token.
        () => undefined,
      );
    }, FIND_PAUSE_MS);
  };

  /** Accounts opened in this tab, newest first, offered as the finder's suggestions. */
  private recent(): string[] {
    try {
      const stored: unknown = JSON.parse(sessionStorage.getItem(RECENT_KEY) ?? '[]');
      return Array.isArray(stored) ? stored.filter((id): id is string => typeof id === 'string') : [];
    } catch {
      return [];
    }
  }

  private tokenForm(): TemplateResult {
    return html`<main class="token">
      <h1>Credits console</h1>
      ${this.notice === null ? nothing : html`<p class="error" role="alert">${this.notice}</p>`}
      <form @submit=${this.onToken}>
        <label>API token <input type="password" name="token" autocomplete="off" required size="48" /></label>
        <button type="submit">Use token</button>
      </form>
      <p class="muted">An admin or read token of this API. It is kept in this browser tab only and sent to this API only.</p>
    </main>`;
  }

  protected override render(): TemplateResult {
    if (this.token === null) return this.tokenForm();
    const { accountId, tab, params } = this.route;
    return html`
      <header class="top">
        <h1><a href="#">Credits console</a></h1>
        <form class="find" role="search" @submit=${this.onFind}>
          <label>Account <input name="account" list="account-suggestions" .value=${accountId ?? ''} required autocomplete="off" @input=${this.onFinderInput} /></label>
          <datalist id="account-suggestions">${[...new Set([...this.suggested, ...this.recent()])].map((id) => html`<option value=${id}></option>`)}</datalist>
          <button type="submit">Open</button>
        </form>
        <button type="button" class="quiet" @click=${this.onForget}>Forget token</button>
      </header>
      <main>
        ${accountId === null
          ? html`<p class="empty">Open an account by its id to see its balance, usage, ledger, grants, jobs and events.</p>`
          : html`<credits-account .client=${this.client(this.token)} .accountId=${accountId} .tab=${tab} .params=${params}></credits-account>`}
      </main>
    `;
  }
}

customElements.define('credits-console', CreditsConsole);
