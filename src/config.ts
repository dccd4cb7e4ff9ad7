import { z } from 'zod';
import { EXAMPLE_CATALOG_PATH } from './catalog/catalog.js';

const postgresUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), 'must be a postgres:// or postgresql:// URL');

const environmentSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  CREDITS_CATALOG: z.string().min(1).default(EXAMPLE_CATALOG_PATH),
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port, such as localhost:7233').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).max(255).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).max(255).default('credits'),
});

export type Config = {
  /** Unset means the embedded PostgreSQL of the dev stack. */
  databaseUrl: string | undefined;
  catalogPath: string;
  temporal: { address: string; namespace: string; taskQueue: string };
};

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
    temporal: { address: data.TEMPORAL_ADDRESS, namespace: data.TEMPORAL_NAMESPACE, taskQueue: data.TEMPORAL_TASK_QUEUE },
  };
}

export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError('DATABASE_URL is not set: point it at the PostgreSQL server that holds the ledger');
  }
  return config.databaseUrl;
}
