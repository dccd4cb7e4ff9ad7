import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { ZodError } from 'zod';
import { isDatabaseUnavailable } from '../ledger/db.js';
import { LedgerError } from '../ledger/errors.js';
import { CreditAmountError } from '../money.js';
import { TemporalUnavailable, WorkflowRefused } from '../temporal/errors.js';
import type { ApiApp, ApiDeps, AppEnv } from './context.js';
import { authenticate, requireAccessOnEveryRoute } from './auth.js';
import { widgetCors } from './cors.js';
import { docsRoutes } from './docs.js';
import { ApiError, RETRY_AFTER_S, type ApiErrorCode } from './errors.js';
import { metricsRoute, recordHttpMetrics } from './metrics.js';
import { accountRoutes } from './routes/accounts.js';
import { feedRoutes } from './routes/feed.js';
import { jobRoutes } from './routes/jobs.js';
import { ledgerRoutes } from './routes/ledger.js';
import { tokenRoutes } from './routes/tokens.js';
import { uiRoutes } from './ui.js';
import type { ErrorBody } from './schemas.js';

/** Every JSON body is small except a batch of job records; an NDJSON stream has a per-line limit instead. */
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_RECORDS_BODY_BYTES = 64 * 1024 * 1024;
const RECORDS_PATH = /^\/v1\/jobs\/[^/]+\/records$/;

const TARGET_NAMES: Record<string, string> = { json: 'body', query: 'query', param: 'path' };

const STATUS_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: 'MALFORMED_JSON',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const tooLarge = (maxBytes: number) => () => {
  throw new ApiError('PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
};
const jsonBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge(MAX_BODY_BYTES) });
const recordsBodyLimit = bodyLimit({ maxSize: MAX_RECORDS_BODY_BYTES, onError: tooLarge(MAX_RECORDS_BODY_BYTES) });

/**
 * The body size limit of the route. A declared Content-Length is checked from the header alone:
 * hono's bodyLimit reads `raw.body` first, which makes @hono/node-server build a whole web Request
 * (an undici Request, an AbortController, a web stream) for every request, a third of the API's CPU
 * per charge. A body without a length (chunked) is counted by bodyLimit as it streams.
 */
function limitBodySize(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const records = RECORDS_PATH.test(c.req.path);
    if (records && (c.req.header('content-type')?.toLowerCase().startsWith('application/x-ndjson') ?? false)) return next();
    const maxBytes = records ? MAX_RECORDS_BODY_BYTES : MAX_BODY_BYTES;
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(declared) > maxBytes) tooLarge(maxBytes)();
      return next();
    }
    return (records ? recordsBodyLimit : jsonBodyLimit)(c, next);
  };
}

function validationError(error: ZodError, target: string): ApiError {
  const where = TARGET_NAMES[target] ?? target;
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  return new ApiError('VALIDATION_FAILED', `invalid ${where}: ${summary}`, { in: where, issues });
}

/**
 * Any failure as the API's error: a known code keeps its status, a database that cannot be reached
 * is a 503 to retry (and a hint to the health watch), anything else is a logged 500 that hides internals.
 */
function toApiError(error: unknown, c: Context<AppEnv>, deps: ApiDeps): ApiError {
  if (error instanceof ApiError) return error;
  if (isDatabaseUnavailable(error)) {
    deps.health.checkSoon();
    return new ApiError('DATABASE_UNAVAILABLE', 'the database is unavailable or did not answer in time: retry later with the same idempotency key (nothing is applied twice)');
  }
  if (error instanceof LedgerError) return new ApiError(error.code, error.message, error.details);
  if (error instanceof WorkflowRefused) return new ApiError(error.code, error.message, error.details);
  if (error instanceof TemporalUnavailable) return new ApiError('UNAVAILABLE', error.message);
  if (error instanceof CreditAmountError) return new ApiError('VALIDATION_FAILED', error.message, { issues: [{ path: '', message: error.message }] });
  if (error instanceof HTTPException) {
    const code = STATUS_CODES[error.status];
    if (code) return new ApiError(code, error.message || code.toLowerCase().replaceAll('_', ' '));
  }
  c.var.logger.error({ err: error }, 'unexpected error');
  return new ApiError('INTERNAL', 'internal error: the request id identifies it in the logs', { requestId: c.var.requestId });
}

function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  const body: ErrorBody = { error: { code: error.code, message: error.message, details: { ...error.details } } };
  const retryAfterS = RETRY_AFTER_S[error.code];
  return c.json(body, error.status, retryAfterS === undefined ? {} : { 'Retry-After': String(retryAfterS) });
}

/**
 * The HTTP API: zod-validated routes of DESIGN §4 under /v1 behind bearer tokens, the OpenAPI
 * document generated from the same schemas at /openapi.json with a browsable page at /docs (its
 * assets served here too), the operator console at /console and the balance widget's script
 * (src/api/ui.ts), CORS for the widget's reads (src/api/cors.ts), request ids, one structured log line per request, and errors as
 * { error: { code, message, details } }.
 */
export function createApi(deps: ApiDeps): ApiApp {
  if (deps.tokens.length === 0) throw new Error('the API needs at least one bearer token');
  const app: ApiApp = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });

  app.use(requestId({ limitLength: 128 }));
  app.use(recordHttpMetrics());
  app.use(async (c, next) => {
    const started = performance.now();
    const logger = deps.logger.child({ requestId: c.var.requestId });
    c.set('logger', logger);
    await next();
    const line = { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 };
    if (c.res.status === 503) logger.warn(line, 'request refused: a dependency is unavailable');
    else if (c.res.status >= 500) logger.error(line, 'request failed');
    else logger.info(line, 'request');
  });

  app.onError((error, c) => {
    const apiError = toApiError(error, c, deps);
    if (apiError.status < 500) c.var.logger.info({ code: apiError.code, message: apiError.message }, 'request refused');
    return errorResponse(c, apiError);
  });
  app.notFound((c) => errorResponse(c, new ApiError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)));

  app.get('/health', async (c) => {
    const report = await deps.health.check();
    const body = { status: report.healthy ? ('ok' as const) : ('unavailable' as const), dependencies: report.dependencies };
    return report.healthy ? c.json(body, 200) : c.json(body, 503, { 'Retry-After': String(RETRY_AFTER_S.UNAVAILABLE) });
  });
  metricsRoute(app, deps);

  widgetCors(app, deps.widgetOrigins);
  app.use('/v1/*', authenticate(deps));
  app.use('/v1/*', limitBodySize());

  accountRoutes(app, deps);
  ledgerRoutes(app, deps);
  jobRoutes(app, deps);
  feedRoutes(app, deps);
  tokenRoutes(app, deps);
  requireAccessOnEveryRoute(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: "An API token (one of API_TOKENS, or minted with POST /v1/tokens). A route's role is the scope it needs: admin covers service, service covers read.",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'http',
    scheme: 'bearer',
    description:
      "An account's session token (POST /v1/accounts/{accountId}/session-tokens), for a browser: the routes listing it, for its own account only. Role account: its account's reads; top-up: a top-up by its user, when minted with allowTopUp; shared: the same for every account.",
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Credits API',
      version: '1',
      description: 'Credits billing engine: accounts and their billing periods, charges, estimates, top-ups, bulk jobs and events. Amounts are credits with at most 6 decimals.',
    },
  });
  docsRoutes(app);
  uiRoutes(app);
  return app;
}
