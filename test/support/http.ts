import { CreditsApiError } from '../../src/client/client.js';
import { API_TOKEN } from './api-stack.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** A raw HTTP call, for what the typed client would never send: bad tokens, bad JSON, wrong types. */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string | Uint8Array; contentType?: string; token?: string | null } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? API_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text so an assertion shows it
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** The error code of an answer, or undefined when it is not an error body. */
export function errorCode(answer: HttpAnswer): string | undefined {
  const body = answer.body as { error?: { code?: unknown } } | null;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

/** The CreditsApiError a client call was refused with; fails when the call succeeds or fails otherwise. */
export async function refusal(promise: Promise<unknown>): Promise<CreditsApiError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof CreditsApiError)) throw new Error(`expected a CreditsApiError, got ${String(error)}`);
  return error;
}
