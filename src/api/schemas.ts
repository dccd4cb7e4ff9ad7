/**
 * The contract's schemas (src/contract/schemas.ts) as the API serves them: each request and response
 * named as an OpenAPI component, and the path parameters. Routes import their schemas from here.
 */
import { z } from '@hono/zod-openapi';
import { accountId, chargeId, jobId, userId } from '../contract/fields.js';
import * as contract from '../contract/schemas.js';

/**
 * A contract schema as a named OpenAPI component. It is cloned first: zod copies `.openapi` onto each
 * schema when it is created, so one created before @hono/zod-openapi was first imported lacks it.
 */
function component<T extends z.ZodType>(schema: T, name: string): T {
  return schema.clone().openapi(name);
}

export const AccountIdParams = z.object({ accountId: accountId.clone().openapi({ param: { name: 'accountId', in: 'path' }, example: 'acme' }) });
export const AccountUserParams = AccountIdParams.extend({ userId: userId.clone().openapi({ param: { name: 'userId', in: 'path' }, example: 'alice' }) });
export const JobIdParams = z.object({ jobId: jobId.clone().openapi({ param: { name: 'jobId', in: 'path' }, example: 'import-2026-01' }) });

export const ChargeParams = AccountIdParams.extend({ chargeId: chargeId.clone().openapi({ param: { name: 'chargeId', in: 'path' }, example: '42' }) });

export const ErrorResponse = component(contract.ErrorResponse, 'Error');
export const CatalogResponse = component(contract.CatalogResponse, 'Catalog');
export const CreateAccountRequest = component(contract.CreateAccountRequest, 'CreateAccountRequest');
export const AccountResponse = component(contract.AccountResponse, 'Account');
export const CreateAccountResponse = component(contract.CreateAccountResponse, 'CreatedAccount');
export const ChangePlanRequest = component(contract.ChangePlanRequest, 'ChangePlanRequest');
export const ChangePlanResponse = component(contract.ChangePlanResponse, 'ChangePlanResult');
export const CancelAccountResponse = component(contract.CancelAccountResponse, 'CancelAccountResult');
export const SetUserRequest = component(contract.SetUserRequest, 'SetUserRequest');
export const UserResponse = component(contract.UserResponse, 'User');
export const UsersResponse = component(contract.UsersResponse, 'Users');
export const AccountSettingsRequest = component(contract.AccountSettingsRequest, 'AccountSettingsRequest');
export const AccountSettingsResponse = component(contract.AccountSettingsResponse, 'AccountSettings');
export const TopUpRequest = component(contract.TopUpRequest, 'TopUpRequest');
export const TopUpResponse = component(contract.TopUpResponse, 'TopUpResult');
export const AdjustmentRequest = component(contract.AdjustmentRequest, 'AdjustmentRequest');
export const AdjustmentResponse = component(contract.AdjustmentResponse, 'Adjustment');
export const RefundRequest = component(contract.RefundRequest, 'RefundRequest');
export const RefundResponse = component(contract.RefundResponse, 'Refund');
export const ContractRequest = component(contract.ContractRequest, 'ContractRequest');
export const ContractChangeResponse = component(contract.ContractChangeResponse, 'ContractChange');
export const ContractResponse = component(contract.ContractResponse, 'Contract');
export const ChargeRequest = component(contract.ChargeRequest, 'ChargeRequest');
export const ChargeResponse = component(contract.ChargeResponse, 'Charge');
export const EstimateRequest = component(contract.EstimateRequest, 'EstimateRequest');
export const EstimateResponse = component(contract.EstimateResponse, 'Estimate');
export const UsageResponse = component(contract.UsageResponse, 'Usage');
export const LedgerResponse = component(contract.LedgerResponse, 'LedgerPage');
export const CreateJobRequest = component(contract.CreateJobRequest, 'CreateJobRequest');
export const AppendRecordsRequest = component(contract.AppendRecordsRequest, 'JobRecords');
export const AppendRecordsResponse = component(contract.AppendRecordsResponse, 'AppendRecordsResult');
export const JobResponse = component(contract.JobResponse, 'Job');
export const JobListResponse = component(contract.JobListResponse, 'JobList');
export const JobResultsResponse = component(contract.JobResultsResponse, 'JobResults');
export const EventsResponse = component(contract.EventsResponse, 'EventPage');

export { UsageQuery, LedgerQuery, JobRecord, JobListQuery, JobResultsQuery, EventsQuery, HealthResponse } from '../contract/schemas.js';
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
