/**
 * The schemas the routes use: the contract's (src/contract/schemas.ts, each request and response
 * named there as an OpenAPI component by its `id`), and the path parameters with their examples.
 */
import { z } from '@hono/zod-openapi';
import { accountId, chargeId, jobId, userId } from '../contract/fields.js';

export const AccountIdParams = z.object({ accountId: accountId.clone().openapi({ param: { name: 'accountId', in: 'path' }, example: 'acme' }) });
export const AccountUserParams = AccountIdParams.extend({ userId: userId.clone().openapi({ param: { name: 'userId', in: 'path' }, example: 'alice' }) });
export const JobIdParams = z.object({ jobId: jobId.clone().openapi({ param: { name: 'jobId', in: 'path' }, example: 'import-2026-01' }) });

export const ChargeParams = AccountIdParams.extend({ chargeId: chargeId.clone().openapi({ param: { name: 'chargeId', in: 'path' }, example: '42' }) });


export {
  ErrorResponse,
  CatalogResponse,
  CreateAccountRequest,
  AccountResponse,
  CreateAccountResponse,
  ChangePlanRequest,
  ChangePlanResponse,
  CancelAccountResponse,
  SetUserRequest,
  UserResponse,
  UsersResponse,
  AccountSettingsRequest,
  AccountSettingsResponse,
  TopUpRequest,
  TopUpResponse,
  AdjustmentRequest,
  AdjustmentResponse,
  RefundRequest,
  RefundResponse,
  ContractRequest,
  ContractChangeResponse,
  ContractResponse,
  ChargeRequest,
  ChargeResponse,
  EstimateRequest,
  EstimateResponse,
  UsageResponse,
  LedgerResponse,
  CreateJobRequest,
  AppendRecordsRequest,
  AppendRecordsResponse,
  JobResponse,
  JobListResponse,
  JobResultsResponse,
  EventsResponse,
  UsageQuery, LedgerQuery, JobRecord, JobListQuery, JobResultsQuery, EventsQuery, HealthResponse } from '../contract/schemas.js';
export type {
  ErrorBody,
  CatalogView,
  CreateAccountBody,
  AccountView,
  CreatedAccountView,
  ChangePlanBody,
  ChangePlanView,
  CancelAccountView,
  SetUserBody,
  UserView,
  UsersView,
  AccountSettingsBody,
  AccountSettingsView,
  TopUpBody,
  TopUpView,
  AdjustmentBody,
  AdjustmentView,
  RefundBody,
  RefundView,
  ContractBody,
  ContractChangeView,
  ContractView,
  ChargeBody,
  ChargeView,
  EstimateBody,
  EstimateView,
  UsageParams,
  UsageView,
  LedgerParams,
  LedgerPage,
  JobRecordBody,
  CreateJobBody,
  AppendRecordsView,
  JobView,
  JobListParams,
  JobList,
  JobResultsParams,
  JobResultsPage,
  EventsParams,
  EventsPage,
} from '../contract/schemas.js';
