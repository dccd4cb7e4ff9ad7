import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { EXAMPLE_CATALOG_PATH } from './catalog/catalog.js';
import { API_SCOPES, type ApiScope } from './contract/fields.js';

const postgresUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), 'must be a postgres:// or postgresql:// URL');

/**
 * How much a worker process takes on at once. The cache, with the heap limit its launcher sets
 * (scripts/worker.sh, WORKER_HEAP_MB), bounds its memory: a cached workflow costs memory whether or
 * not it has work, so the number of accounts must not size it; a workflow that is not cached is
 * replayed from its (short: continue-as-new every 4 periods) history when it next has a task.
 * 250 with a 256 MB heap kept rollover.10k's worker at 445 MB (400: 500 MB; 1,000 without a limit:
 * 1,224 MB), within 6 % of their speed. Measured figures and how to choose: README, "Sizing the worker".
 */
export const WORKER_DEFAULTS = {
  maxCachedWorkflows: 250,
  maxConcurrentWorkflowTasks: 40,
  maxConcurrentActivities: 100,
  maxConcurrentLocalActivities: 20,
  stickyTimeoutMs: 10_000,
  databasePoolSize: 20,
} as const;

export type WorkerTuning = { -readonly [K in keyof typeof WORKER_DEFAULTS]: number };

const readableFile = z.string().refine(
  (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be the path of a readable file' },
);

/** A bearer token of API_TOKENS and its scope. */
export interface ConfiguredToken {
  scope: ApiScope;
  token: string;
}

const isApiScope = (value: string): value is ApiScope => (API_SCOPES as readonly string[]).includes(value);

/**
 * API_TOKENS: comma-separated entries, each `<scope>:<token>` or a token alone, which is admin (the
 * format before scopes, so existing settings keep their meaning). Messages name an entry by its
 * position, never by its content: it is a secret.
 */
const apiTokenList = z.string().transform((value, ctx): ConfiguredToken[] => {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one token' });
  const tokens = entries.flatMap((entry, index): ConfiguredToken[] => {
    const colon = entry.indexOf(':');
    const scope = colon < 0 ? 'admin' : entry.slice(0, colon);
    const token = colon < 0 ? entry : entry.slice(colon + 1);
    if (!isApiScope(scope)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: what comes before ":" must be a scope, ${API_SCOPES.join(', ')} (a token alone is admin)` });
      return [];
    }
    if (token.length < 16) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: each token must be at least 16 characters` });
      return [];
    }
    return [{ scope, token }];
  });
  if (new Set(tokens.map((entry) => entry.token)).size < tokens.length) ctx.addIssue({ code: 'custom', message: 'lists a token twice: give each token one scope' });
  return tokens;
});

/**
 * The token a stack prints and seeds its demo with: the first admin one of API_TOKENS, without its
 * `admin:` prefix (a bearer token is what follows the prefix).
 */
export function firstAdminToken(tokens: readonly ConfiguredToken[]): string {
  const token = tokens.find((entry) => entry.scope === 'admin')?.token;
  if (token === undefined) throw new ConfigError('API_TOKENS has no admin token: the stack prints its commands (and seeds its demo) with one');
  return token;
}

/**
 * Who may read the API's /metrics: anyone (`open`, like /health: it names no account or user), an
 * API token of any scope (`token`: a scraper's bearer token, for an API reachable from outside),
 * or nobody (`off`: no such route).
 */
export const METRICS_ACCESS = ['open', 'token', 'off'] as const;
export type MetricsAccess = (typeof METRICS_ACCESS)[number];

/** A worker's metrics port: unset is off (two workers on one host would fight over any default). */
/**
 * CREDITS_WIDGET_ORIGINS: comma-separated origins (`https://app.example.com`: scheme, host and port,
 * no path) of the product's pages that embed the balance widget and so call the API from another
 * origin. Unset: none, and browsers keep the widget to pages on the API's own origin.
 */
const originList = z.string().transform((value, ctx): string[] => {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return entries.flatMap((entry, index): string[] => {
    const url = URL.canParse(entry) ? new URL(entry) : null;
    if (url === null || !/^https?:$/.test(url.protocol) || url.origin !== entry) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1} ("${entry}") must be an origin such as https://app.example.com: http or https, host and port, nothing after` });
      return [];
    }
    return [entry];
  });
});

const metricsPort = z.coerce.number().int().min(1, 'must be a port from 1 to 65535 (unset: off)').max(65_535, 'must be a port from 1 to 65535 (unset: off)');

const environmentSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  CREDITS_CATALOG: z.string().min(1).default(EXAMPLE_CATALOG_PATH),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, such as localhost:7233').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).max(255).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).max(255).default('credits'),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_CA: readableFile.optional(),
  TEMPORAL_TLS_CERT: readableFile.optional(),
  TEMPORAL_TLS_KEY: readableFile.optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).max(255).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  ENRICHMENT_PROVIDER: z.enum(['simulated', 'http']).default('simulated'),
  ENRICHMENT_PROVIDER_URL: z.url().optional(),
  ENRICHMENT_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(10_000),
  ENRICHMENT_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
  ENRICHMENT_RATE_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  ENRICHMENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  SIMULATED_VERIFIED_RATE: z.coerce.number().min(0).max(1).default(0.6),
  SIMULATED_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  API_TOKENS: apiTokenList.optional(),
  SESSION_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters: a random string, such as the output of `openssl rand -base64 32`').optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  METRICS_ACCESS: z.enum(METRICS_ACCESS).default('open'),
  CREDITS_WIDGET_ORIGINS: originList.default([]),
  WORKER_METRICS_PORT: metricsPort.optional(),
  WORKER_TEMPORAL_METRICS_PORT: metricsPort.optional(),
  WEBHOOK_URL: z.url().optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).default(WORKER_DEFAULTS.maxCachedWorkflows),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).default(WORKER_DEFAULTS.maxConcurrentWorkflowTasks),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(WORKER_DEFAULTS.maxConcurrentActivities),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(WORKER_DEFAULTS.maxConcurrentLocalActivities),
  WORKER_STICKY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(WORKER_DEFAULTS.stickyTimeoutMs),
  WORKER_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).default(WORKER_DEFAULTS.databasePoolSize),
  JOB_PARALLEL_BATCHES: z.coerce.number().int().min(1).max(64).optional(),
  JOB_MAX_IN_FLIGHT_RECORDS: z.coerce.number().int().min(1).max(100_000).optional(),
}).refine((env) => (env.TEMPORAL_TLS_CERT === undefined) === (env.TEMPORAL_TLS_KEY === undefined), {
  message: 'set both or neither: a client certificate needs its key',
  path: ['TEMPORAL_TLS_CERT'],
}).refine((env) => env.TEMPORAL_TLS !== 'false' || (env.TEMPORAL_TLS_CA ?? env.TEMPORAL_TLS_CERT ?? env.TEMPORAL_API_KEY) === undefined, {
  message: 'is false, but a CA, a client certificate or an API key is set: those need TLS',
  path: ['TEMPORAL_TLS'],
}).refine((env) => env.ENRICHMENT_PROVIDER !== 'http' || env.ENRICHMENT_PROVIDER_URL !== undefined, {
  path: ['ENRICHMENT_PROVIDER_URL'],
  message: 'is required when ENRICHMENT_PROVIDER=http',
}).refine((env) => env.WEBHOOK_URL === undefined || env.WEBHOOK_SECRET !== undefined, {
  path: ['WEBHOOK_SECRET'],
  message: 'is required when WEBHOOK_URL is set: every webhook is signed',
}).refine((env) => env.WORKER_METRICS_PORT === undefined || env.WORKER_METRICS_PORT !== env.WORKER_TEMPORAL_METRICS_PORT, {
  path: ['WORKER_TEMPORAL_METRICS_PORT'],
  message: 'is the same port as WORKER_METRICS_PORT: the two endpoints need a port each',
});

export type Config = {
  /** Unset means the embedded PostgreSQL of the dev stack. */
  databaseUrl: string | undefined;
  catalogPath: string;
  temporal: TemporalSettings;
  enrichment:
    | { provider: 'simulated'; verifiedRate: number; latencyMs: number; concurrency: number }
    | { provider: 'http'; url: string; timeoutMs: number; concurrency: number; ratePerSecond: number; maxAttempts: number };
  /** Bearer tokens the API accepts, with their scopes; unset means the API refuses to start (the dev stack makes one). */
  apiTokens: ConfiguredToken[] | undefined;
  /** Signs accounts' session tokens; every API replica needs the same. Unset: the API refuses to start (the dev stack makes one). */
  sessionTokenSecret: string | undefined;
  port: number;
  metrics: MetricsSettings;
  /** Origins whose pages may call the widget's routes (CREDITS_WIDGET_ORIGINS); empty: none. */
  widgetOrigins: string[];
  /** Signed webhooks for domain events; off unless WEBHOOK_URL is set. */
  webhook: { url: string; secret: string } | undefined;
  worker: WorkerTuning;
  /** How the worker runs a job's batches; what is unset keeps JOB_BATCH_DEFAULTS (src/worker/deps.ts). */
  jobs: JobBatchTuning;
};

/** Where metrics are served (README, "Metrics"). */
export interface MetricsSettings {
  /** The API's /metrics (METRICS_ACCESS). */
  access: MetricsAccess;
  /** The worker's credits_* metrics on this port (WORKER_METRICS_PORT); unset: not served. */
  workerPort: number | undefined;
  /** The Temporal SDK's own worker metrics on this port (WORKER_TEMPORAL_METRICS_PORT); unset: not exported. */
  temporalPort: number | undefined;
}

/** Batches of one job at once (JOB_PARALLEL_BATCHES), records one batch has read and not yet stored (JOB_MAX_IN_FLIGHT_RECORDS). */
export interface JobBatchTuning {
  parallelBatches?: number;
  maxInFlightRecords?: number;
}

/**
 * Where Temporal is and how to reach it: plain (the dev server), TLS with the system's or a given
 * CA, mutual TLS with a client certificate (a self-hosted cluster), or an API key over TLS
 * (Temporal Cloud). Paths are checked to be readable at start-up; the files are read when connecting.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: { caPath?: string; certPath?: string; keyPath?: string; serverName?: string };
  apiKey?: string;
}

function temporalSecurity(data: z.output<typeof environmentSchema>): Pick<TemporalSettings, 'tls' | 'apiKey'> {
  const wantsTls = data.TEMPORAL_TLS === 'true' || (data.TEMPORAL_TLS === undefined && (data.TEMPORAL_TLS_CA ?? data.TEMPORAL_TLS_CERT ?? data.TEMPORAL_API_KEY) !== undefined);
  const tls = {
    ...(data.TEMPORAL_TLS_CA ? { caPath: data.TEMPORAL_TLS_CA } : {}),
    ...(data.TEMPORAL_TLS_CERT ? { certPath: data.TEMPORAL_TLS_CERT } : {}),
    ...(data.TEMPORAL_TLS_KEY ? { keyPath: data.TEMPORAL_TLS_KEY } : {}),
    ...(data.TEMPORAL_TLS_SERVER_NAME ? { serverName: data.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  return { ...(wantsTls ? { tls } : {}), ...(data.TEMPORAL_API_KEY ? { apiKey: data.TEMPORAL_API_KEY } : {}) };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment once at start-up, with one clear line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = environmentSchema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const data = result.data;
  return {
    databaseUrl: data.DATABASE_URL,
    catalogPath: data.CREDITS_CATALOG,
    temporal: {
      address: data.TEMPORAL_ADDRESS,
      namespace: data.TEMPORAL_NAMESPACE,
      taskQueue: data.TEMPORAL_TASK_QUEUE,
      ...temporalSecurity(data),
    },
    enrichment:
      data.ENRICHMENT_PROVIDER === 'http' && data.ENRICHMENT_PROVIDER_URL
        ? {
            provider: 'http',
            url: data.ENRICHMENT_PROVIDER_URL,
            timeoutMs: data.ENRICHMENT_TIMEOUT_MS,
            concurrency: data.ENRICHMENT_CONCURRENCY,
            ratePerSecond: data.ENRICHMENT_RATE_PER_SECOND,
            maxAttempts: data.ENRICHMENT_MAX_ATTEMPTS,
          }
        : { provider: 'simulated', verifiedRate: data.SIMULATED_VERIFIED_RATE, latencyMs: data.SIMULATED_LATENCY_MS, concurrency: data.ENRICHMENT_CONCURRENCY },
    apiTokens: data.API_TOKENS,
    sessionTokenSecret: data.SESSION_TOKEN_SECRET,
    port: data.PORT,
    metrics: { access: data.METRICS_ACCESS, workerPort: data.WORKER_METRICS_PORT, temporalPort: data.WORKER_TEMPORAL_METRICS_PORT },
    widgetOrigins: data.CREDITS_WIDGET_ORIGINS,
    webhook: data.WEBHOOK_URL && data.WEBHOOK_SECRET ? { url: data.WEBHOOK_URL, secret: data.WEBHOOK_SECRET } : undefined,
    worker: {
      maxCachedWorkflows: data.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTasks: data.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivities: data.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivities: data.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      stickyTimeoutMs: data.WORKER_STICKY_TIMEOUT_MS,
      databasePoolSize: data.WORKER_DATABASE_POOL_SIZE,
    },
    jobs: {
      ...(data.JOB_PARALLEL_BATCHES === undefined ? {} : { parallelBatches: data.JOB_PARALLEL_BATCHES }),
      ...(data.JOB_MAX_IN_FLIGHT_RECORDS === undefined ? {} : { maxInFlightRecords: data.JOB_MAX_IN_FLIGHT_RECORDS }),
    },
  };
}

export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError('DATABASE_URL is not set: point it at the PostgreSQL server that holds the ledger');
  }
  return config.databaseUrl;
}
