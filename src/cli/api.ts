import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { createCreditsClient, CreditsApiError, CreditsProtocolError, type CreditsClient } from '../client/client.js';
import { ConfigError } from '../config.js';

export const DEFAULT_API_URL = 'http://localhost:3000';
/** Where the dev stack writes the token it made for its API. */
export const DEV_TOKEN_FILE = '.data/dev-token';
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Options every command that talks to the API accepts. */
export interface ApiOptions {
  api?: string;
  token?: string;
  json?: boolean;
}

/** The operator got the invocation or its environment wrong: exit 2, like commander's own usage errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The API did not answer at all (refused, DNS, timeout). */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

export interface Connection {
  baseUrl: string;
  token: string;
}

/** --api / CREDITS_API_URL / localhost:3000, and --token / CREDITS_API_TOKEN / the dev stack's token file. */
export function resolveConnection(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const baseUrl = options.api ?? nonEmpty(env.CREDITS_API_URL) ?? DEFAULT_API_URL;
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new UsageError(`the API URL "${baseUrl}" is not an http:// or https:// URL`);
  }
  const token = options.token ?? nonEmpty(env.CREDITS_API_TOKEN) ?? devToken();
  if (token === undefined) {
    throw new UsageError(`no API token: pass --token, set CREDITS_API_TOKEN, or start the dev stack (it writes ${DEV_TOKEN_FILE})`);
  }
  return { baseUrl, token };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The dev stack's token, looked for in the working directory and then in the project's root. */
function devToken(): string | undefined {
  for (const path of new Set([resolve(DEV_TOKEN_FILE), resolve(PROJECT_ROOT, DEV_TOKEN_FILE)])) {
    if (existsSync(path)) return nonEmpty(readFileSync(path, 'utf8'));
  }
  return undefined;
}

/**
 * The typed client, with failures to reach the API reported as such rather than as "fetch failed".
 * `onResponse` sees each answer's headers, which the client's results leave out (Idempotent-Replayed).
 */
export function connect(options: ApiOptions, onResponse?: (response: Response) => void): CreditsClient {
  const { baseUrl, token } = resolveConnection(options);
  const reach: typeof fetch = async (input, init) => {
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      throw new ApiUnreachableError(`cannot reach the API at ${baseUrl}: ${describeNetworkError(error)}`, { cause: error });
    }
    onResponse?.(response);
    return response;
  };
  return createCreditsClient({ baseUrl, token, fetch: reach });
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'it did not answer in time';
  if (!(error instanceof Error)) return String(error);
  // fetch says only "fetch failed"; what happened (ECONNREFUSED, ENOTFOUND, ...) is in its cause.
  const cause = error.cause;
  const detail = cause instanceof Error ? ('code' in cause && typeof cause.code === 'string' ? cause.code : cause.message) : undefined;
  return detail ? `${error.message} (${detail})` : error.message;
}

/**
 * Prints why a command failed and returns its exit code: 1 for what the API (or the engine) refused
 * or could not do, 2 for a wrong invocation. Commander has already printed its own usage errors.
 */
export function reportFailure(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof CreditsApiError) {
    stderr.write(`credits: ${error.code}: ${error.message}\n`);
    return 1;
  }
  if (error instanceof UsageError || error instanceof ConfigError) {
    stderr.write(`credits: ${error.message}\n`);
    return 2;
  }
  if (error instanceof ApiUnreachableError || error instanceof CreditsProtocolError) {
    stderr.write(`credits: ${error.message}\n`);
    return 1;
  }
  stderr.write(`credits: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
