import type { z } from 'zod';
import {
  AccountResponse,
  AccountsResponse,
  AccountSettingsResponse,
  AdjustmentResponse,
  ContractChangeResponse,
  ContractResponse,
  CreateAccountResponse,
  RefundResponse,
  AppendRecordsResponse,
  CancelAccountResponse,
  CatalogResponse,
  ChangePlanResponse,
  ChargeResponse,
  ErrorResponse,
  EstimateResponse,
  EventsResponse,
  JobListResponse,
  JobResponse,
  JobResultsResponse,
  LedgerResponse,
  ChargesResponse,
  GrantsResponse,
  StatementResponse,
  TopUpResponse,
  UsageResponse,
  UserResponse,
  UsersResponse,
  ApiTokenResponse,
  ApiTokensResponse,
  CreatedApiTokenResponse,
  SessionTokenResponse,
  type ApiTokenList,
  type ApiTokenView,
  type CreateApiTokenBody,
  type CreatedApiTokenView,
  type SessionTokenBody,
  type SessionTokenView,
  type AccountView,
  type AccountList,
  type AccountsParams,
  type AccountSettingsBody,
  type AccountSettingsView,
  type AdjustmentBody,
  type AdjustmentView,
  type ContractBody,
  type ContractChangeView,
  type ContractView,
  type RefundBody,
  type RefundView,
  type CreatedAccountView,
  type AppendRecordsView,
  type CancelAccountView,
  type CatalogView,
  type ChangePlanBody,
  type ChangePlanView,
  type ChargeBody,
  type ChargeView,
  type CreateAccountBody,
  type CreateJobBody,
  type EstimateBody,
  type EstimateView,
  type EventsPage,
  type EventsParams,
  type JobList,
  type JobListParams,
  type JobRecordBody,
  type JobResultsPage,
  type JobResultsParams,
  type JobView,
  type LedgerPage,
  type LedgerParams,
  type ChargePage,
  type ChargesParams,
  type GrantPage,
  type GrantsParams,
  type StatementParams,
  type StatementView,
  type SetUserBody,
  type TopUpBody,
  type TopUpView,
  type UsageParams,
  type UsageView,
  type UserView,
  type UsersView,
} from '../contract/schemas.js';

export type * from '../contract/schemas.js';

/** An error answered by the API, with its stable code (INSUFFICIENT_CREDITS, NOT_ADMIN, ...). */
export class CreditsApiError extends Error {
  override readonly name = 'CreditsApiError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown>,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

/** The API answered something that is not the documented shape: a version mismatch or a proxy in the way. */
export class CreditsProtocolError extends Error {
  override readonly name = 'CreditsProtocolError';
}

export interface CreditsClientOptions {
  /** Such as http://localhost:3000 */
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  /** Per request; 30 s by default. */
  timeoutMs?: number;
  /** For a streamed append of records, which may carry millions; 1 hour by default. */
  streamTimeoutMs?: number;
}

type Query = Record<string, string | number | undefined>;

/**
 * The typed client for the product's backend: one function per API operation, inputs and outputs
 * typed from the API's own schemas, every answer checked with them, errors thrown as CreditsApiError.
 */
export function createCreditsClient(options: CreditsClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const streamTimeoutMs = options.streamTimeoutMs ?? 3_600_000;
  const segment = encodeURIComponent;

  async function request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    init: { body?: unknown; query?: Query; raw?: { body: ReadableStream<Uint8Array>; contentType: string } } = {},
  ): Promise<z.output<S>> {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(init.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (init.raw) {
      headers['content-type'] = init.raw.contentType;
      body = init.raw.body;
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const response = await send(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(init.raw ? streamTimeoutMs : timeoutMs), ...(init.raw ? { duplex: 'half' } : {}) });
    const text = await response.text();
    let payload: unknown;
    try {
      payload = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw new CreditsProtocolError(`${method} ${path}: ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    const requestId = response.headers.get('x-request-id');
    if (!response.ok) {
      const error = ErrorResponse.safeParse(payload);
      if (!error.success) throw new CreditsProtocolError(`${method} ${path}: ${response.status} without an error body: ${text.slice(0, 200)}`);
      throw new CreditsApiError(error.data.error.code, response.status, error.data.error.message, error.data.error.details, requestId);
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new CreditsProtocolError(`${method} ${path}: unexpected answer: ${parsed.error.message}`);
    return parsed.data;
  }

  const account = (accountId: string) => `/v1/accounts/${segment(accountId)}`;
  const job = (jobId: string) => `/v1/jobs/${segment(jobId)}`;

  return {
    getCatalog: (): Promise<CatalogView> => request('GET', '/v1/catalog', CatalogResponse),
    createAccount: (body: CreateAccountBody): Promise<CreatedAccountView> => request('POST', '/v1/accounts', CreateAccountResponse, { body }),
    listAccounts: (query: AccountsParams = {}): Promise<AccountList> => request('GET', '/v1/accounts', AccountsResponse, { query }),
    getAccount: (accountId: string): Promise<AccountView> => request('GET', account(accountId), AccountResponse),
    changePlan: (accountId: string, body: ChangePlanBody): Promise<ChangePlanView> => request('POST', `${account(accountId)}/plan`, ChangePlanResponse, { body }),
    cancelAccount: (accountId: string): Promise<CancelAccountView> => request('POST', `${account(accountId)}/cancel`, CancelAccountResponse),
    setUser: (accountId: string, userId: string, body: SetUserBody): Promise<UserView> =>
      request('PUT', `${account(accountId)}/users/${segment(userId)}`, UserResponse, { body }),
    listUsers: (accountId: string): Promise<UsersView> => request('GET', `${account(accountId)}/users`, UsersResponse),
    updateSettings: (accountId: string, body: AccountSettingsBody): Promise<AccountSettingsView> =>
      request('PATCH', account(accountId), AccountSettingsResponse, { body }),
    topUp: (accountId: string, body: TopUpBody): Promise<TopUpView> => request('POST', `${account(accountId)}/top-ups`, TopUpResponse, { body }),
    adjust: (accountId: string, body: AdjustmentBody): Promise<AdjustmentView> => request('POST', `${account(accountId)}/adjustments`, AdjustmentResponse, { body }),
    refund: (accountId: string, chargeId: string, body: RefundBody): Promise<RefundView> =>
      request('POST', `${account(accountId)}/charges/${segment(chargeId)}/refunds`, RefundResponse, { body }),
    getContract: (accountId: string): Promise<ContractView> => request('GET', `${account(accountId)}/contract`, ContractResponse),
    setContract: (accountId: string, body: ContractBody): Promise<ContractChangeView> => request('PUT', `${account(accountId)}/contract`, ContractChangeResponse, { body }),
    charge: (accountId: string, body: ChargeBody): Promise<ChargeView> => request('POST', `${account(accountId)}/charges`, ChargeResponse, { body }),
    estimate: (accountId: string, body: EstimateBody): Promise<EstimateView> => request('POST', `${account(accountId)}/estimates`, EstimateResponse, { body }),
    usage: (accountId: string, query: UsageParams): Promise<UsageView> => request('GET', `${account(accountId)}/usage`, UsageResponse, { query }),
    ledger: (accountId: string, query: LedgerParams = {}): Promise<LedgerPage> => request('GET', `${account(accountId)}/ledger`, LedgerResponse, { query }),
    charges: (accountId: string, query: ChargesParams = {}): Promise<ChargePage> => request('GET', `${account(accountId)}/charges`, ChargesResponse, { query }),
    grants: (accountId: string, query: GrantsParams = {}): Promise<GrantPage> => request('GET', `${account(accountId)}/grants`, GrantsResponse, { query }),
    statement: (accountId: string, query: StatementParams = {}): Promise<StatementView> =>
      request('GET', `${account(accountId)}/statement`, StatementResponse, { query }),
    createJob: (accountId: string, body: CreateJobBody): Promise<JobView> => request('POST', `${account(accountId)}/jobs`, JobResponse, { body }),
    listJobs: (accountId: string, query: JobListParams = {}): Promise<JobList> => request('GET', `${account(accountId)}/jobs`, JobListResponse, { query }),
    appendRecords: (jobId: string, records: JobRecordBody[]): Promise<AppendRecordsView> => request('POST', `${job(jobId)}/records`, AppendRecordsResponse, { body: records }),
    /** Streams records as NDJSON, for jobs with more records than one request should carry. */
    streamRecords: (jobId: string, records: AsyncIterable<JobRecordBody> | Iterable<JobRecordBody>): Promise<AppendRecordsView> =>
      request('POST', `${job(jobId)}/records`, AppendRecordsResponse, { raw: { body: ndjsonStream(records), contentType: 'application/x-ndjson' } }),
    startJob: (jobId: string): Promise<JobView> => request('POST', `${job(jobId)}/start`, JobResponse),
    resumeJob: (jobId: string): Promise<JobView> => request('POST', `${job(jobId)}/resume`, JobResponse),
    cancelJob: (jobId: string): Promise<JobView> => request('POST', `${job(jobId)}/cancel`, JobResponse),
    getJob: (jobId: string): Promise<JobView> => request('GET', job(jobId), JobResponse),
    jobResults: (jobId: string, query: JobResultsParams = {}): Promise<JobResultsPage> => request('GET', `${job(jobId)}/results`, JobResultsResponse, { query }),
    events: (query: EventsParams = {}): Promise<EventsPage> => request('GET', '/v1/events', EventsResponse, { query }),
    /** A short-lived token for one account's browser: its reads and, with allowTopUp, a top-up by its user. */
    createSessionToken: (accountId: string, body: SessionTokenBody = {}): Promise<SessionTokenView> =>
      request('POST', `${account(accountId)}/session-tokens`, SessionTokenResponse, { body }),
    /** An API token with a scope; the answer's `token` is shown this once. Needs an admin token. */
    createApiToken: (body: CreateApiTokenBody): Promise<CreatedApiTokenView> => request('POST', '/v1/tokens', CreatedApiTokenResponse, { body }),
    listApiTokens: (): Promise<ApiTokenList> => request('GET', '/v1/tokens', ApiTokensResponse),
    revokeApiToken: (tokenId: string): Promise<ApiTokenView> => request('POST', `/v1/tokens/${segment(tokenId)}/revoke`, ApiTokenResponse),
  };
}

export type CreditsClient = ReturnType<typeof createCreditsClient>;

function ndjsonStream(records: AsyncIterable<JobRecordBody> | Iterable<JobRecordBody>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = Symbol.asyncIterator in records ? records[Symbol.asyncIterator]() : records[Symbol.iterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const lines: string[] = [];
      while (lines.length < 1_000) {
        const next = await iterator.next();
        if (next.done) break;
        lines.push(JSON.stringify(next.value));
      }
      if (lines.length > 0) controller.enqueue(encoder.encode(`${lines.join('\n')}\n`));
      if (lines.length < 1_000) controller.close();
    },
  });
}
